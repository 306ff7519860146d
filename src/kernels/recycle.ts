// Memory of dead arrays, kept for the next array of the same size: a received tile or a tile copy that a
// factorization is done with becomes the memory of the next one, with no page faults and no garbage for V8.
// Pure JavaScript (no addon), so the communicator can draw on it too.

/** Only arrays of at least this many bytes are kept (smaller ones cost little to make afresh). */
const MIN_BYTES = 64 * 1024;

/** Free buffers by byte length, newest last (its pages are the likeliest still in cache). */
const free = new Map<number, ArrayBuffer[]>();
let heldBytes = 0;
/**
 * Buffers this module handed out: only those are taken back. Any other may be external memory that V8 cannot
 * detach (the addon's buffers, zmq's received frames), which structuredClone would copy instead of moving.
 */
const ours = new WeakSet<ArrayBuffer>();
/** Bytes kept at most (DARRAY_RECYCLE_MB, default 64); beyond it a dead array is left to the caller. */
let capBytes = capFromEnv();

function capFromEnv(): number {
  const v = Number(process.env.DARRAY_RECYCLE_MB);
  return (process.env.DARRAY_RECYCLE_MB !== undefined && Number.isFinite(v) && v >= 0 ? v : 64) * 2 ** 20;
}

/**
 * Takes the memory of `a`, a dead array of `allocateRecyclable` memory viewing all of it, for a later
 * `takeRecycled` of its size: its buffer is detached (moved to a new ArrayBuffer the pool holds), so any stale
 * reference reads an empty array rather than someone else's data. Returns false (nothing changed) for any
 * other array, a small one, or when the pool is full.
 */
export function recycle(a: ArrayBufferView): boolean {
  const buf = a.buffer as ArrayBuffer;
  const bytes = buf.byteLength;
  if (!ours.has(buf) || a.byteOffset !== 0 || a.byteLength !== bytes || bytes < MIN_BYTES) return false;
  if (heldBytes + bytes > capBytes) return false;
  let moved: ArrayBuffer;
  try {
    moved = structuredClone(buf, { transfer: [buf] }); // detaches `buf`, moving its memory without a copy
  } catch {
    return false;
  }
  if (buf.byteLength !== 0) return false; // cloned after all: not ours to reuse
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
  ours.add(buf);
  return buf;
}

/**
 * Memory for an array of `bytes` that its caller fills whole: a recycled buffer if there is one, else a fresh
 * one of its own; either way `recycle` can take it back later. Contents unspecified.
 */
export function allocateRecyclable(bytes: number): ArrayBuffer {
  const reused = takeRecycled(bytes);
  if (reused) return reused;
  const b = Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer; // its own ArrayBuffer, offset 0
  ours.add(b);
  return b;
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
