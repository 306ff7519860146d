// How SUMMA cuts the inner dimension into steps: which inner tile columns (or slabs of one) each step's panels
// carry, and the order a rank computes the steps in. Pure functions of the layout, so every rank of a grid
// plans the same steps and the plan can be tested alone.

/** Columns [off, off + w) of inner tile column k: the part of it one SUMMA step covers. */
export interface Part { k: number; off: number; w: number }

/** What the plan needs to know of the product's layout. */
export interface StepLayout {
  /** Inner tile columns (A's tile columns, B's tile rows). */
  kt: number;
  /** Process grid [rows, columns]. */
  grid: readonly [number, number];
  /** Columns of inner tile column k. */
  widthOf: (k: number) => number;
  /** Inner tiles one step gathers at most (DARRAY_SUMMA_K over the tile width). */
  perStep: number;
  /** Widest slab, in columns, that a step of a single tile may carry (half the share over the panel heights). */
  widest: number;
}

/**
 * The steps, in the order of their broadcasts. A step gathers inner tiles whose A tiles sit in one grid column
 * and B tiles in one grid row, so each panel has a single root on its row (column) communicator. A step of one
 * tile wider than `widest` is cut along k into slabs of even width; steps of several tiles stay whole (packed,
 * they read one tile at a time).
 */
export function planSteps({ kt, grid, widthOf, perStep, widest }: StepLayout): Part[][] {
  const [pr, pc] = grid;
  const classes = new Map<string, number[]>();
  for (let k = 0; k < kt; k++) {
    const key = `${k % pr},${k % pc}`;
    if (!classes.has(key)) classes.set(key, []);
    classes.get(key)!.push(k);
  }
  const tileSteps: number[][] = [];
  for (const ks of classes.values()) for (let s = 0; s < ks.length; s += perStep) tileSteps.push(ks.slice(s, s + perStep));
  tileSteps.sort((a, b) => a[0] - b[0]);
  return tileSteps.flatMap((ks): Part[][] => (ks.length === 1
    ? slabs(ks[0], widthOf(ks[0]), widest).map((part) => [part])
    : [ks.map((k) => ({ k, off: 0, w: widthOf(k) }))]));
}

/** Inner tile column k (w columns wide) in slabs of at most `most` columns, of even widths. */
export function slabs(k: number, w: number, most: number): Part[] {
  const n = Math.ceil(w / most);
  const out: Part[] = [];
  for (let x = 0; x < n; x++) {
    const off = Math.floor((x * w) / n);
    out.push({ k, off, w: Math.floor(((x + 1) * w) / n) - off });
  }
  return out;
}

/**
 * The order the rank at grid coordinates (p, q) computes `steps` in: the steps' order, except that a rank that
 * roots both panels of the second step but not of the first starts with the second, so that it does not wait
 * for the first's panels (on two ranks each has a step of its own to start with). The broadcasts still go in
 * the steps' order, the same on every rank. Only the second step moves: its budget requests follow the first's
 * at once, so no request waits on a step that needs a request made after it (a packed step's root holds its
 * panels too).
 */
export function stepOrder(steps: readonly Part[][], grid: readonly [number, number], p: number, q: number): number[] {
  const [pr, pc] = grid;
  const rooted = (s: number) => steps[s][0].k % pc === q && steps[s][0].k % pr === p;
  const order = steps.map((_, s) => s);
  if (steps.length > 1 && !rooted(0) && rooted(1)) order.splice(0, 2, 1, 0);
  return order;
}
