// Unit tests of the file formats and crash recovery: .npy bytes numpy reads back (also from strided views),
// Zarr chunk encoding with padded edge chunks, metadata checks with clear errors, the checkpoint swap and its
// recovery after each point a crash can stop it, and lazy chunk reads of da.open.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ndarray from 'ndarray';
import type { Comm } from '../../src/comm/index.js';
import { fromFunction } from '../../src/darray/index.js';
import { memoryStats, open, save, toNpy } from '../../src/darray/io/index.js';
import { newPath, oldPath, recover, swapIn } from '../../src/darray/io/checkpoint.js';
import { checkMeta, decodeChunk, encodeChunk, makeMeta, type ZarrayMeta } from '../../src/darray/io/zarr-format.js';

const PY = '/usr/bin/python3';
const lone = { rank: 0, size: 1 } as unknown as Comm;
let dir = '';

describe('io: formats and recovery', function () {
  this.timeout(60000);
  beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darray-io-unit-')); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('.npy files numpy reads back exactly, also from strided and 0-d ndarrays', () => {
    const a = ndarray(Float64Array.from({ length: 12 }, (_, k) => k * 1.5 - 3), [3, 4]);
    const cases: [string, ndarray.NdArray<Float64Array | Float32Array | Int32Array>, string][] = [
      ['f8', a, '[[-3.0, -1.5, 0.0, 1.5], [3.0, 4.5, 6.0, 7.5], [9.0, 10.5, 12.0, 13.5]]'],
      ['t', a.transpose(1, 0), '[[-3.0, 3.0, 9.0], [-1.5, 4.5, 10.5], [0.0, 6.0, 12.0], [1.5, 7.5, 13.5]]'],
      ['f4', ndarray(Float32Array.of(0.5, -2), [2]), '[0.5, -2.0]'],
      ['i4', ndarray(Int32Array.of(-7), []), '-7'],
    ];
    for (const [name, arr] of cases) {
      const bytes = toNpy(arr);
      const headerLen = bytes.readUInt16LE(8);
      assert.equal((10 + headerLen) % 64, 0, 'data starts 64-byte aligned');
      fs.writeFileSync(path.join(dir, `${name}.npy`), bytes);
    }
    const out = execFileSync(PY, ['-c', `
import numpy as np, json
for n in ['f8', 't', 'f4', 'i4']:
    a = np.load('${dir}/' + n + '.npy')
    print(a.dtype.str, a.tolist())`], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(out, cases.map(([n, , v]) => `${{ f8: '<f8', t: '<f8', f4: '<f4', i4: '<i4' }[n]} ${v}`));
  });

  it('chunks round-trip, edge chunks padded to the full chunk shape', () => {
    for (const compression of ['none', 'zlib'] as const) {
      const meta = makeMeta([5, 7], [4, 4], 'float64', compression, 1);
      const tile = Float64Array.from({ length: 1 * 3 }, (_, k) => k + 1);     // the [1, 3] corner tile
      const enc = encodeChunk(tile, [1, 3], meta.chunks, meta);
      if (compression === 'none') {
        assert.equal(enc.byteLength, 16 * 8, 'stored full-size');
        assert.deepEqual([...new Float64Array(enc.buffer.slice(enc.byteOffset, enc.byteOffset + enc.byteLength))].slice(0, 5), [1, 2, 3, 0, 0]);
      }
      const back = new Float64Array(3);
      decodeChunk(enc, meta, 'float64', [1, 3], back, 'test');
      assert.deepEqual([...back], [1, 2, 3]);
      assert.throws(() => decodeChunk(enc.subarray(0, enc.length - 8), meta, 'float64', [1, 3], back, 'chunk 1.1'),
        compression === 'none' ? /chunk 1\.1: chunk holds 120 bytes, expected 128/ : /chunk 1\.1: chunk is not valid zlib data/);
    }
  });

  it('metadata darray cannot read synchronously is refused with the reason', () => {
    const good = makeMeta([4], [2], 'int32', 'none', 1);
    const ctx = { rank: 2, op: 'open' };
    assert.equal(checkMeta(good, 'x', ctx), 'int32');
    const bad: [Partial<ZarrayMeta>, RegExp][] = [
      [{ order: 'F' }, /\[rank 2, open\] x: order "F" is not supported/],
      [{ dtype: '>f8' }, /dtype ">f8" is not supported/],
      [{ filters: [{ id: 'delta' }] }, /filters .* are not supported/],
      [{ compressor: { id: 'blosc' } }, /compressor "blosc" is not supported/],
      [{ chunks: [2, 2] }, /shape \[4\] and chunks \[2,2\] do not match/],
    ];
    for (const [patch, re] of bad) assert.throws(() => checkMeta({ ...good, ...patch } as ZarrayMeta, 'x', ctx), re);
  });

  it('recovery finishes or undoes an interrupted swap', () => {
    const p = path.join(dir, 'c.zarr');
    const mk = (d: string, tag: string) => { fs.mkdirSync(d, { recursive: true }); fs.writeFileSync(path.join(d, '.zarray'), tag); };
    const tag = () => fs.readFileSync(path.join(p, '.zarray'), 'utf8');
    // Killed between the two renames: only the old store (moved aside) and the finished new one exist.
    mk(oldPath(p), 'old'); mk(newPath(p), 'new-unswapped');
    recover(p);
    assert.equal(tag(), 'old');
    assert.deepEqual(fs.readdirSync(dir), ['c.zarr']);
    // Killed after the swap, before the old store was removed.
    mk(oldPath(p), 'older');
    recover(p);
    assert.equal(tag(), 'old');
    assert.deepEqual(fs.readdirSync(dir), ['c.zarr']);
    // A complete swap replaces the store and leaves nothing beside it.
    const fresh = newPath(p);
    mk(fresh, 'newest');
    swapIn(fresh, p);
    assert.equal(tag(), 'newest');
    assert.deepEqual(fs.readdirSync(dir), ['c.zarr']);
  });

  it('da.open reads each chunk once, on first use', async () => {
    const A = await fromFunction(lone, [6, 5], (i, j) => i * 5 + j, { blockSize: [4, 2] });
    const p = path.join(dir, 'o.zarr');
    await save(A, p, { compression: 'zlib' });
    const before = memoryStats().fileReads;
    const F = await open(lone, p);
    assert.deepEqual(F.blockSize, [4, 2]);
    assert.equal(memoryStats().fileReads, before, 'nothing read at open');
    assert.deepEqual([...F.tile([1, 2])!], [24, 29]);
    assert.deepEqual([...F.tile([1, 0])!], [20, 21, 25, 26]);
    F.tile([1, 0]);
    assert.equal(memoryStats().fileReads, before + 2);
    // Saving over the store first reads what arrays opened from it still need: F keeps its values.
    const F2 = await open(lone, p);
    await save(await A.map((x) => -x), p);
    assert.deepEqual([...F2.tile([0, 1])!], [2, 3, 7, 8, 12, 13, 17, 18]);
    assert.deepEqual([...(await open(lone, p)).tile([0, 1])!], [-2, -3, -7, -8, -12, -13, -17, -18]);
    // A corrupt chunk is reported with rank, operation and file when its tile is first used.
    await save(A, p, { compression: 'zlib' });
    fs.writeFileSync(path.join(p, '0.0'), 'garbage');
    const G = await open(lone, p);
    assert.throws(() => G.tile([0, 0]), /rank 0 open: chunk .*0\.0: chunk is not valid zlib data/);
  });
});
