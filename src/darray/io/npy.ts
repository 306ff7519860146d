// .npy export of a whole array for quick looks in numpy: `da.saveNpy(A, 'a.npy')` (collective, written by
// the root) or `da.toNpy(ndarray)` for the bytes of a collected ndarray.

import ndarray from 'ndarray';
import { DArray } from '../darray.js';
import { dtypeOf, type TypedArray } from '../dtype.js';
import { DArrayError } from '../../errors.js';
import { writeFileAtomic } from './checkpoint.js';
import { zarrDtype } from './zarr-format.js';

/** The .npy (format 1.0) bytes of an ndarray of float64/float32/int32, in C order whatever its strides. */
export function toNpy(a: ndarray.NdArray<TypedArray>): Buffer {
  const dtype = dtypeOf(a.data);
  if (!dtype) throw new DArrayError('toNpy: the ndarray must hold a Float64Array, Float32Array or Int32Array', { op: 'toNpy' });
  const shape = a.shape;
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${zarrDtype(dtype)}', 'fortran_order': False, 'shape': ${tuple}, }`;
  // Magic (6) + version (2) + length (2) + header + newline, padded with spaces to a multiple of 64.
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const n = shape.reduce((x, y) => x * y, 1);
  const out = Buffer.alloc(total + n * a.data.BYTES_PER_ELEMENT);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = 1; out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, 'latin1');
  const body = new (a.data.constructor as new (b: ArrayBuffer, o: number, n: number) => TypedArray)(out.buffer, out.byteOffset + total, n);
  // Buffer.alloc of this size is not pooled, so byteOffset + total is aligned for the element type.
  fillCOrder(a, body);
  return out;
}

/**
 * Writes `a` as a .npy file. A DArray is collected on `root` (default 0), which writes the file: collective.
 * An ndarray is written by the calling rank alone.
 */
export async function saveNpy(a: DArray | ndarray.NdArray<TypedArray>, file: string, opts: { root?: number } = {}): Promise<void> {
  if (a instanceof DArray) {
    const root = opts.root ?? 0;
    const full = await a.collect({ root });
    if (full) writeFileAtomic(file, toNpy(full));
    return;
  }
  writeFileAtomic(file, toNpy(a));
}

function fillCOrder(a: ndarray.NdArray<TypedArray>, out: TypedArray): void {
  const nd = a.shape.length;
  const contiguous = a.stride.every((s, d) => s === a.shape.slice(d + 1).reduce((x, y) => x * y, 1));
  if (contiguous) { out.set(a.data.subarray(a.offset, a.offset + out.length)); return; }
  if (nd === 0) { out[0] = a.data[a.offset]; return; }
  const idx = new Array<number>(nd).fill(0);
  for (let k = 0; k < out.length; k++) {
    let p = a.offset;
    for (let d = 0; d < nd; d++) p += idx[d] * a.stride[d];
    out[k] = a.data[p];
    for (let d = nd - 1; d >= 0; d--) { if (++idx[d] < a.shape[d]) break; idx[d] = 0; }
  }
}
