// Caps the number of tile kernels in flight in this process; the rest wait in a FIFO queue here, so the libuv
// pool and the cores this rank owns are never oversubscribed.
export class Limiter {
  private active = 0;
  private readonly waiting: { need: number; grant: () => void }[] = [];

  constructor(private max: number) {}

  get limit(): number {
    return this.max;
  }

  setLimit(max: number): void {
    this.max = max;
    this.pump();
  }

  /** Runs fn when a slot is free. A synchronous throw from fn becomes a rejection. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire(1);
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

  private acquire(n: number): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push({
        need: n,
        grant: () => {
          this.active += n;
          resolve();
        },
      });
      this.pump();
    });
  }

  private releaseSlots(n: number): void {
    this.active -= n;
    this.pump();
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
