// The memory SUMMA may hold in panels beyond a rank's share of the operands: tiles received from other ranks and
// the copies of its own tiles that its broadcasts may stage (in shared memory, where ranks of one host cannot read
// each other's arrays directly). Each panel's memory is admitted before it is taken.

/**
 * Admits panel memory while the total stays within `limit` bytes. Memory held for a step is given back when that
 * step's GEMMs are over (`done`); memory staged for a broadcast when the broadcast is over (`unstage`).
 *
 * Requests are admitted in the order they are made (the order of the broadcasts). One that does not fit still goes
 * ahead once nothing is staged and no step this rank computes before its own (`first(r, s)`: step r before step s)
 * holds memory. Without that, a step larger than the limit, or a later step's panels already held, would wait
 * forever. So the limit binds prefetching, never progress, as long as the caller computes its steps in the order
 * of their requests, but for the first two, which may swap: a request then only waits on broadcasts and steps
 * that need nothing requested after it. (Moving a later step to the front would not do: the requests between
 * could wait on a step held up behind it, and it on its own requests behind them.)
 */
export class PanelBudget {
  private readonly held = new Map<number, number>();
  private staged = 0;
  private total = 0;
  private waiting: { step: number; bytes: number; go: () => void }[] = [];

  constructor(readonly limit: number, private readonly first: (r: number, s: number) => boolean) {}

  /** Resolves once `bytes` for step `step` may be taken; the caller then holds them (`stage` for a broadcast's copy). */
  admit(step: number, bytes: number, stage = false): Promise<void> {
    return new Promise((resolve) => {
      const go = () => {
        if (stage) this.staged += bytes;
        else this.held.set(step, (this.held.get(step) ?? 0) + bytes);
        this.total += bytes;
        resolve();
      };
      this.waiting.push({ step, bytes, go });
      this.wake();
    });
  }

  /** A broadcast that staged `bytes` is over. */
  unstage(bytes: number): void {
    this.staged -= bytes;
    this.total -= bytes;
    this.wake();
  }

  /** Step `step`'s GEMMs are over: what it held goes back. */
  done(step: number): void {
    this.total -= this.held.get(step) ?? 0;
    this.held.delete(step);
    this.wake();
  }

  private fits(step: number, bytes: number): boolean {
    if (this.total + bytes <= this.limit) return true;
    if (this.staged > 0) return false;
    for (const [r, b] of this.held) if (b > 0 && this.first(r, step)) return false;
    return true;
  }

  /** Admits waiting requests in the order they were made, while the first one fits. */
  private wake(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].step, this.waiting[0].bytes)) this.waiting.shift()!.go();
  }
}
