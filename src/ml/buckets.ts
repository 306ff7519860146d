// Bucket planning for data-parallel gradient averaging: which gradients travel together in one allreduce.
// A pure function of the parameter layout, so every rank with the same parameters makes the same plan.

/** What the planner needs to know of one parameter. */
export interface ParamInfo {
  length: number;
  dtype: 'float32' | 'float64';
}

/** One allreduce: the parameters it carries and where each one sits in the packed buffer. */
export interface Bucket {
  dtype: 'float32' | 'float64';
  /** Parameter indices, in the order their gradients are expected (last parameter first). */
  params: number[];
  /** Element offset of each parameter (same order as `params`) in the packed buffer. */
  offsets: number[];
  /** Elements in the packed buffer. */
  length: number;
}

const BYTES = { float32: 4, float64: 8 } as const;

/**
 * Packs parameters into buckets of about `bucketBytes`, walking them in reverse order because backward
 * produces the last layer's gradients first (PyTorch DDP's order): the first bucket fills, and its allreduce
 * starts, while earlier layers are still being differentiated. A bucket closes when adding the next
 * parameter would pass `bucketBytes` or when the dtype changes (an allreduce carries one dtype). A parameter
 * larger than `bucketBytes` gets a bucket of its own.
 */
export function planBuckets(params: readonly ParamInfo[], bucketBytes: number): Bucket[] {
  const buckets: Bucket[] = [];
  let cur: Bucket | undefined;
  for (let i = params.length - 1; i >= 0; i--) {
    const { length, dtype } = params[i];
    const bytes = length * BYTES[dtype];
    if (!cur || cur.dtype !== dtype || (cur.length > 0 && (cur.length + length) * BYTES[dtype] > bucketBytes)) {
      cur = { dtype, params: [], offsets: [], length: 0 };
      buckets.push(cur);
    }
    cur.params.push(i);
    cur.offsets.push(cur.length);
    cur.length += length;
    if (bytes >= bucketBytes) cur = undefined; // a big parameter alone; the next one starts afresh
  }
  return buckets;
}
