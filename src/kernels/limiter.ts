// Caps the number of tile kernels in flight in this process; the rest wait in a FIFO queue here, so the libuv
// pool and the cores this rank owns are never oversubscribed.
export class Limiter {
  private active = 0;
  private urgentInUse = false;
  private deferred = false;
  private readonly waiting: { need: number; urgent: boolean; grant: () => void }[] = [];

  constructor(private max: number) {}

  get limit(): number {
    return this.max;
  }

  setLimit(max: number): void {
    this.max = max;
    this.pump();
  }

  /**
   * Runs fn when a slot is free. A synchronous throw from fn becomes a rejection. An urgent call waits ahead of
   * every call that is not (first come, first served among urgent ones).
   */
  async run<T>(fn: () => Promise<T>, urgent = false): Promise<T> {
    await this.acquire(1, urgent);
    try {
      return await fn();
    } finally {
      this.releaseSlots(1);
    }
  }

  /** Runs fn with every slot held: nothing else computes meanwhile (whole-matrix reference calls). */
  async exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const n = this.max;
    await this.acquire(n);
    try {
      return await fn();
    } finally {
      this.releaseSlots(n);
    }
  }

  private acquire(n: number, urgent = false): Promise<void> {
    if (urgent) this.urgentInUse = true;
    return new Promise((resolve) => {
      const w = {
        need: n,
        urgent,
        grant: () => {
          this.active += n;
          resolve();
        },
      };
      const at = urgent ? this.waiting.findIndex((x) => !x.urgent) : -1;
      if (at < 0) this.waiting.push(w);
      else this.waiting.splice(at, 0, w);
      // While a freed slot is held back for urgent calls, a call that is not urgent waits for that turn too.
      if (urgent || !this.deferred) this.pump();
    });
  }

  /**
   * A freed slot goes to an urgent waiter at once. Once urgent calls are in use, a waiter that is not urgent gets
   * it only a turn of the event loop later: an urgent call that the end of the last kernel unblocks (a scheduler
   * starts its next job in the same turn) then still comes first. Without that, the slot would go to whatever
   * waited, and the critical path would queue behind a whole kernel at every hand-off.
   */
  private releaseSlots(n: number): void {
    this.active -= n;
    if (!this.urgentInUse || this.waiting[0]?.urgent) {
      this.pump();
      return;
    }
    if (this.deferred) return;
    this.deferred = true;
    setImmediate(() => {
      this.deferred = false;
      this.pump();
    });
  }

  // FIFO: the head waits until enough slots are free, so an exclusive caller is not starved.
  private pump(): void {
    while (this.waiting.length > 0) {
      const need = Math.min(this.waiting[0].need, this.max);
      if (this.active + need > this.max && this.active > 0) return;
      this.waiting.shift()!.grant();
    }
  }
}
