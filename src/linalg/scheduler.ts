// A priority queue for tile kernels: at most `width` kernels in flight per rank (one more if urgent), the most
// urgent first.
// The tiled algorithms hand it every ready kernel; its ordering (panel before trailing update) is the lookahead.
// Work that may wait (giving dead tiles' pages back) runs only while no kernel is in flight.
import { kernelConfig, urgently } from '../kernels/index.js';

/** Lower keys run first; keys compare lexicographically. */
export type Priority = readonly number[];

interface Job {
  key: Priority;
  seq: number;
  run: () => Promise<void>;
  urgent: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function before(a: Job, b: Job): boolean {
  const n = Math.max(a.key.length, b.key.length);
  for (let i = 0; i < n; i++) {
    const x = a.key[i] ?? 0;
    const y = b.key[i] ?? 0;
    if (x !== y) return x < y;
  }
  return a.seq < b.seq;
}

/**
 * Runs submitted kernels `width` at a time (an urgent one may make it width + 1), the lowest priority key first
 * among those waiting. The width is one more than the kernel layer runs at once, so a kernel is always waiting
 * there when one ends; the kernels of jobs whose key `urgent` picks (the critical path) wait there ahead of the
 * others, so that extra slot never makes them queue behind work that can wait. Each job's kernel must be its
 * first await for that to hold.
 */
export class KernelQueue {
  private heap: Job[] = [];
  private running = 0;
  private seq = 0;
  private background: (() => void)[] = [];
  private backgroundTurn = false;

  constructor(
    readonly width: number = defaultWidth(),
    private readonly urgent: (key: Priority) => boolean = () => false,
  ) {}

  /** Queues `run` under `key`; resolves or rejects with it. `urgent` overrides the queue's verdict on `key`. */
  submit(key: Priority, run: () => Promise<void>, urgent = this.urgent(key)): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.push({ key, seq: this.seq++, run, urgent, resolve, reject });
      this.pump();
    });
  }

  /**
   * Queues `task` (synchronous JS work that may wait, such as giving memory back) to run while no kernel is in
   * flight or waiting: each task in an event-loop turn of its own, so that messages landing meanwhile are handled
   * first and a kernel they make ready starts before the next task. On a rank whose core is busy, such work
   * would only slow the kernels on it.
   */
  whenIdle(task: () => void): void {
    this.background.push(task);
    this.nextBackground();
  }

  /** Runs the background tasks still waiting, idle or not: the work they belong to is over. */
  flushIdle(): void {
    for (const task of this.background.splice(0)) task();
  }

  private idle(): boolean {
    return this.running === 0 && this.heap.length === 0;
  }

  private nextBackground(): void {
    if (this.backgroundTurn || this.background.length === 0 || !this.idle()) return;
    this.backgroundTurn = true;
    setImmediate(() => {
      this.backgroundTurn = false;
      if (this.idle()) this.background.shift()?.();
      this.nextBackground();
    });
  }

  private pump(): void {
    // An urgent job may run one over the width. The jobs that the end of a kernel makes ready reach the queue a
    // few promise turns after that end, by when the freed place may have gone to a job that can wait: without the
    // extra place, a panel's TRMM then waited behind a whole trailing update (1.6 ms at n = 2048 on 2 ranks).
    while (this.heap.length > 0 && (this.running < this.width || (this.running === this.width && this.heap[0].urgent))) {
      const job = this.pop();
      this.running++;
      let p: Promise<void>;
      try {
        p = job.urgent ? urgently(job.run) : job.run();
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(job.resolve, job.reject).finally(() => {
        this.running--;
        this.pump();
        this.nextBackground();
      });
    }
  }

  private push(job: Job): void {
    const h = this.heap;
    h.push(job);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): Job {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Kernels in flight per rank: DARRAY_LINALG_WIDTH if set, else one more than the kernel layer runs at once (one
 * per owned core by default), the extra one hiding the hand-off between the event loop and the workers.
 */
export function defaultWidth(): number {
  const v = Number(process.env.DARRAY_LINALG_WIDTH);
  return Number.isInteger(v) && v > 0 ? v : kernelConfig().maxInFlight + 1;
}
