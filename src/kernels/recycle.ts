// Memory of dead arrays, kept for the next array of the same size: a received tile or a tile copy that a
// factorization is done with becomes the memory of the next one, with no page faults and no garbage for V8.
// Pure JavaScript (no addon), so the communicator can draw on it too.

/** Only arrays of at least this many bytes are kept (smaller ones cost little to make afresh). */
const MIN_BYTES = 64 * 1024;

/** Free buffers by byte length, newest last (its pages are the likeliest still in cache). */
const free = new Map<number, ArrayBuffer[]>();
let heldBytes = 0;
/** Bytes kept at most (DARRAY_RECYCLE_MB, default 64); beyond it a dead array is left to the caller. */
let capBytes = capFromEnv();

function capFromEnv(): number {
  const v = Number(process.env.DARRAY_RECYCLE_MB);
  return (process.env.DARRAY_RECYCLE_MB !== undefined && Number.isFinite(v) && v >= 0 ? v : 64) * 2 ** 20;
}

/**
 * Takes the memory of `a`, a dead array, for a later `takeRecycled` of its size: its buffer is detached (moved
 * to a new ArrayBuffer the pool holds), so any stale reference reads an empty array rather than someone else's
 * data. Returns false (nothing changed) when `a` does not own its whole buffer, is small, is shared or cannot
 * be detached, or when the pool is full. Arrays of `allocateRecyclable` memory can always be taken.
 */
export function recycle(a: ArrayBufferView): boolean {
  const buf = a.buffer;
  const bytes = buf.byteLength;
  if (!(buf instanceof ArrayBuffer) || a.byteOffset !== 0 || a.byteLength !== bytes || bytes < MIN_BYTES) return false;
  if (heldBytes + bytes > capBytes) return false;
  let moved: ArrayBuffer;
  try {
    // Transfer detaches `buf` without copying. Node's pooled Buffers refuse; external memory that V8 may not
    // detach (the addon's reusable buffers) is cloned instead, which is no use here: the copy is dropped.
    moved = structuredClone(buf, { transfer: [buf] });
  } catch {
    return false;
  }
  if (buf.byteLength !== 0) return false;
  let list = free.get(bytes);
  if (!list) free.set(bytes, (list = []));
  list.push(moved);
  heldBytes += bytes;
  return true;
}

/** A recycled buffer of exactly `bytes` (contents: whatever its last array held), or undefined. */
export function takeRecycled(bytes: number): ArrayBuffer | undefined {
  const list = free.get(bytes);
  const buf = list?.pop();
  if (!buf) return undefined;
  if (list!.length === 0) free.delete(bytes);
  heldBytes -= bytes;
  return buf;
}

/**
 * Memory for an array of `bytes` that its caller fills whole: a recycled buffer if there is one, else a fresh
 * one of its own that `recycle` can take back later (unlike the addon's external buffers, which V8 may not
 * detach). Contents unspecified.
 */
export function allocateRecyclable(bytes: number): ArrayBuffer {
  const reused = takeRecycled(bytes);
  if (reused) return reused;
  const b = Buffer.allocUnsafeSlow(bytes); // its own ArrayBuffer, offset 0
  return b.buffer as ArrayBuffer;
}

/** Bytes held for reuse now. */
export function recycledBytes(): number {
  return heldBytes;
}

/** Drops every kept buffer (V8 frees them) and sets the cap in MiB (default: DARRAY_RECYCLE_MB or 64). */
export function resetRecycling(capMiB?: number): void {
  free.clear();
  heldBytes = 0;
  capBytes = capMiB === undefined ? capFromEnv() : capMiB * 2 ** 20;
}
