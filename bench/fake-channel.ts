// In-memory Channel: N simulated ranks in one process, for the collectives' unit tests and quick benches.
// It copies what is sent (as the real transport does on the wire) and checks the Channel contract.

import { pack, unpack } from 'msgpackr';
import type { Channel } from '../src/comm/channel.js';
import { isTypedArray } from '../src/comm/reduce-ops.js';

export interface WorldOptions {
  /** Delay each delivery by 0..jitter macrotask hops (order per pair kept) to shake out ordering bugs. */
  jitter?: number;
  /** Copy typed arrays on send (default true); false hands over the sender's buffer, for benches. */
  copy?: boolean;
}

interface Box { queue: unknown[]; waiter?: (v: unknown) => void; chain: Promise<void> }

/** Counters of one simulated job, for tests that check how much an algorithm sends. */
/** `bytes`/`sentBy` count typed-array payload only, so tests can check an algorithm's volume exactly. */
export interface WorldStats { messages: number; bytes: number; sentBy: number[] }

export class FakeWorld {
  readonly channels: Channel[];
  readonly stats: WorldStats;
  private readonly boxes: Box[][]; // boxes[dest][source]
  readonly pending = new Map<number, number>(); // rank -> source it is blocked on

  constructor(readonly size: number, private readonly opts: WorldOptions = {}) {
    this.boxes = Array.from({ length: size }, () =>
      Array.from({ length: size }, () => ({ queue: [], chain: Promise.resolve() })));
    this.stats = { messages: 0, bytes: 0, sentBy: new Array(size).fill(0) };
    this.channels = Array.from({ length: size }, (_, rank) => this.channel(rank));
  }

  private channel(rank: number): Channel {
    const check = (peer: number, what: string) => {
      if (!Number.isInteger(peer) || peer < 0 || peer >= this.size || peer === rank) {
        throw new Error(`fake channel: rank ${rank} ${what} invalid peer ${peer} (size ${this.size})`);
      }
    };
    return {
      rank,
      size: this.size,
      send: async (data, dest) => {
        check(dest, 'send to');
        const msg = this.copy(data);
        this.stats.messages++;
        const bytes = isTypedArray(data) ? data.byteLength : 0; // payload bytes; envelopes count 0
        this.stats.bytes += bytes;
        this.stats.sentBy[rank] += bytes;
        const box = this.boxes[dest][rank];
        const hops = this.opts.jitter ? Math.floor(Math.random() * (this.opts.jitter + 1)) : 0;
        box.chain = box.chain.then(() => delay(hops)).then(() => {
          if (box.waiter) { const w = box.waiter; box.waiter = undefined; w(msg); } else box.queue.push(msg);
        });
      },
      recv: (source) => {
        check(source, 'recv from');
        const box = this.boxes[rank][source];
        if (box.waiter) throw new Error(`fake channel: rank ${rank} posted two recv(${source}) at once`);
        if (box.queue.length) return Promise.resolve(box.queue.shift());
        this.pending.set(rank, source);
        return new Promise((resolve) => {
          box.waiter = (v) => { this.pending.delete(rank); resolve(v); };
        });
      },
    };
  }

  private copy(data: unknown): unknown {
    if (isTypedArray(data)) return this.opts.copy === false ? data : data.slice();
    return unpack(pack(data));
  }

  /** Messages sent but never received: a collective that leaves any behind has a protocol bug. */
  leftovers(): string[] {
    const out: string[] = [];
    this.boxes.forEach((row, dest) => row.forEach((b, src) => {
      if (b.queue.length) out.push(`${b.queue.length} from ${src} to ${dest}`);
    }));
    return out;
  }

  /** Waits for all deliveries in flight (jitter) to land. */
  async settle(): Promise<void> {
    await Promise.all(this.boxes.flat().map((b) => b.chain));
  }
}

function delay(hops: number): Promise<void> {
  let p = Promise.resolve();
  for (let i = 0; i < hops; i++) p = p.then(() => new Promise<void>((r) => setImmediate(r)));
  return p;
}

/**
 * Runs `fn` on every simulated rank at once and returns the results in rank order. Rejects with the first
 * rank's error, or, after `timeoutMs`, with a deadlock report of who waits for whom.
 */
export async function runWorld<T>(
  world: FakeWorld, fn: (ch: Channel) => Promise<T>, timeoutMs = 5000,
): Promise<T[]> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const who = [...world.pending].map(([r, s]) => `rank ${r} waits for ${s}`).join(', ');
      reject(new Error(`fake world of ${world.size}: no progress after ${timeoutMs} ms (${who || 'none blocked'})`));
    }, timeoutMs);
  });
  try {
    const results = await Promise.race([Promise.all(world.channels.map((ch) => fn(ch))), hang]);
    await world.settle();
    return results;
  } finally {
    clearTimeout(timer);
  }
}
