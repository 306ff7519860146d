// The tile board of one tiled factorization or solve: every finished tile is published under a tag, sent
// point-to-point to the ranks that consume it, and held on each consumer until its last local use.
import type { Comm } from '../comm/index.js';
import * as kernels from '../kernels/index.js';
import type { FloatArray } from '../kernels/index.js';

/** What travels under a tag: the tile, or the news that an earlier step failed at this global column. */
export type Mail = FloatArray | { failedColumn: number };

export function isTile(m: Mail): m is FloatArray {
  return m instanceof Float64Array || m instanceof Float32Array;
}

interface Slot {
  promise?: Promise<Mail>;
  resolve?: (m: Mail) => void;
  source: number; // owning rank; this rank for local tiles
  refs: number; // local uses left; a received tile is dropped at zero
}

/**
 * Tags name tiles. Local tiles resolve when published; remote ones are received from their owner the first
 * time a task asks for them. Sends are collected and awaited by `drain`, so an error on any of them surfaces.
 */
export class TileBoard {
  private slots = new Map<number, Slot>();
  private sends: Promise<void>[] = [];

  constructor(private readonly comm: Comm, private readonly base: number) {}

  /** Declares a tile this rank uses `refs` times; `source` is its owner (this rank for a local tile). */
  need(tag: number, source: number, refs = 1): void {
    const s = this.slots.get(tag);
    if (s) s.refs += refs;
    else this.slots.set(tag, { source, refs });
  }

  /** The tile (or failure notice) under `tag`; a remote one is received on first request. */
  get(tag: number): Promise<Mail> {
    const s = this.slot(tag);
    if (!s.promise) {
      if (s.source === this.comm.rank) {
        s.promise = new Promise<Mail>((res) => { s.resolve = res; });
      } else {
        s.promise = this.comm.recv(s.source, this.base + tag) as Promise<Mail>;
      }
    }
    return s.promise;
  }

  /** Publishes a local tile: resolves local waiters and sends it to `dests` (other ranks). */
  async publish(tag: number, mail: Mail, dests: Iterable<number>): Promise<void> {
    const s = this.slot(tag);
    if (!s.promise) this.get(tag);
    // OpenCL keeps the current copy on the device: bring it home before it leaves the rank.
    if (isTile(mail)) await kernels.sync(mail);
    s.resolve!(mail);
    for (const d of dests) if (d !== this.comm.rank) this.sends.push(this.comm.send(mail, d, this.base + tag));
  }

  /** One local use of a tile is over; a received tile is dropped (its memory given back at once) after its last. */
  async unref(tag: number): Promise<void> {
    const s = this.slots.get(tag);
    if (!s) return;
    if (--s.refs > 0 || s.source === this.comm.rank) return;
    this.slots.delete(tag);
    const m = await s.promise!;
    if (isTile(m)) kernels.discard(m);
  }

  /** Waits for every send of this board to complete. */
  async drain(): Promise<void> {
    await Promise.all(this.sends);
  }

  private slot(tag: number): Slot {
    const s = this.slots.get(tag);
    if (!s) throw new Error(`rank ${this.comm.rank}: tile tag ${tag} was never declared (internal error)`);
    return s;
  }
}
