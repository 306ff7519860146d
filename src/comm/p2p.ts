// MPI message matching, apart from any socket: posted receives matched in the order posted, an
// unexpected-message queue in arrival order, ANY_SOURCE/ANY_TAG, and failing receives when a peer is lost.
import { ANY_SOURCE, ANY_TAG } from './tags.js';

/** A message that arrived, addressed by (context, world source rank, tag). */
export interface Incoming {
  ctx: number;
  src: number;
  tag: number;
  data: unknown;
  bytes: number;
  /** Called once when a receive takes the message out of the unexpected queue (releases a withheld ack). */
  onConsume?: () => void;
}

/** A receive waiting for its message. */
interface Posted {
  ctx: number;
  src: number; // world rank or ANY_SOURCE
  tag: number; // or ANY_TAG
  op: string;
  since: number;
  resolve: (m: Incoming) => void;
  reject: (e: Error) => void;
}

interface CtxState {
  posted: Posted[];
  unexpected: Incoming[];
  members?: ReadonlySet<number>; // world ranks of the communicator (for ANY_SOURCE failure), once registered
}

/** What a blocked receive is waiting for, for the SIGUSR2 dump. */
export interface PendingRecv {
  op: string;
  ctx: number;
  src: number;
  tag: number;
  ms: number;
}

/** Context ids come in pairs (tags.ts): odd ids carry a communicator's collective calls. */
const isCollective = (ctx: number): boolean => ctx % 2 === 1;

/**
 * Index of the first entry of `list` that matches (src, tag), or -1. `list` holds posted receives (their
 * src/tag may be wildcards) or, when `queued`, arrived messages (then the wildcards are in src/tag). A plain
 * loop: this runs for every message, and a closure per call costs more than the search.
 */
function firstMatch(list: readonly { src: number; tag: number }[], src: number, tag: number, queued: boolean): number {
  for (let i = 0; i < list.length; i++) {
    const e = list[i];
    const ok = queued
      ? (src === ANY_SOURCE || src === e.src) && (tag === ANY_TAG || tag === e.tag)
      : (e.src === ANY_SOURCE || e.src === src) && (e.tag === ANY_TAG || e.tag === tag);
    if (ok) return i;
  }
  return -1;
}

/** The matching engine of one rank. `failure(peer, op, tag)` builds the error for a receive that needs a lost peer. */
export class Matcher {
  private readonly contexts = new Map<number, CtxState>();
  private readonly failed = new Set<number>();
  private readonly queuedBytes = new Map<number, number>();

  constructor(private readonly failure: (peer: number, op: string, tag: number) => Error) {}

  private state(ctx: number): CtxState {
    let s = this.contexts.get(ctx);
    if (!s) {
      s = { posted: [], unexpected: [] };
      this.contexts.set(ctx, s);
    }
    return s;
  }

  /** Declares the members (world ranks) of a communicator's context, so ANY_SOURCE knows whom it waits on. */
  registerContext(ctx: number, members: readonly number[]): void {
    this.state(ctx).members = new Set(members);
  }

  /** True when a communicator registered `ctx` and has not freed it. */
  isRegistered(ctx: number): boolean {
    return this.contexts.get(ctx)?.members !== undefined;
  }

  /** Forgets a freed communicator's context: its posted receives reject with `err`, its queued mail is dropped. */
  freeContext(ctx: number, err: Error): void {
    const s = this.contexts.get(ctx);
    if (!s) return;
    this.contexts.delete(ctx);
    for (const p of s.posted) p.reject(err);
    for (const m of s.unexpected) this.account(m.src, -m.bytes);
  }

  /** Bytes waiting unmatched from `src`, over all contexts. */
  queued(src: number): number {
    return this.queuedBytes.get(src) ?? 0;
  }

  private account(src: number, delta: number): void {
    const v = (this.queuedBytes.get(src) ?? 0) + delta;
    if (v === 0) this.queuedBytes.delete(src);
    else this.queuedBytes.set(src, v);
  }

  /** Delivers an arrived message to the first matching posted receive, or queues it. True when it matched. */
  arrive(m: Incoming): boolean {
    const s = this.state(m.ctx);
    const i = firstMatch(s.posted, m.src, m.tag, false);
    if (i >= 0) {
      const p = i === 0 ? s.posted.shift()! : s.posted.splice(i, 1)[0];
      p.resolve(m);
      return true;
    }
    s.unexpected.push(m);
    this.account(m.src, m.bytes);
    return false;
  }

  /**
   * Posts a receive: takes the earliest queued match, else waits. Rejects at once when the message can only come
   * from a lost peer (an exact failed source, or ANY_SOURCE on a context with a failed member), and for any
   * collective call on a communicator with a failed member.
   */
  post(ctx: number, src: number, tag: number, op: string): Promise<Incoming> {
    const s = this.state(ctx);
    const i = firstMatch(s.unexpected, src, tag, true);
    if (i >= 0) {
      const m = i === 0 ? s.unexpected.shift()! : s.unexpected.splice(i, 1)[0];
      this.account(m.src, -m.bytes);
      m.onConsume?.();
      return Promise.resolve(m);
    }
    const lost = this.failed.size ? this.lostPeerFor(s, ctx, src) : undefined;
    if (lost !== undefined) return Promise.reject(this.failure(lost, op, tag));
    return new Promise<Incoming>((resolve, reject) => {
      s.posted.push({ ctx, src, tag, op, since: Date.now(), resolve, reject });
    });
  }

  private lostPeerFor(s: CtxState, ctx: number, src: number): number | undefined {
    if (src !== ANY_SOURCE && !isCollective(ctx)) return this.failed.has(src) ? src : undefined;
    if (src !== ANY_SOURCE && this.failed.has(src)) return src;
    for (const f of this.failed) if (!s.members || s.members.has(f)) return f;
    return undefined;
  }

  /**
   * Marks `peer` lost and rejects every posted receive that can now never be satisfied, and every receive of a
   * collective call on a communicator the peer belongs to: the rank it waits on may itself wait on the lost
   * one, so no collective that includes a lost rank may block (ULFM's rule), on any of its ranks.
   */
  failPeer(peer: number): void {
    this.failed.add(peer);
    for (const [ctx, s] of this.contexts) {
      const member = !s.members || s.members.has(peer);
      const keep: Posted[] = [];
      for (const p of s.posted) {
        if (p.src === peer || ((p.src === ANY_SOURCE || isCollective(ctx)) && member)) {
          p.reject(this.failure(peer, p.op, p.tag));
        } else keep.push(p);
      }
      s.posted = keep;
    }
  }

  /** True when world rank `peer` is a member of the communicator of `ctx` (or its members are not known yet). */
  includes(ctx: number, peer: number): boolean {
    const m = this.contexts.get(ctx)?.members;
    return !m || m.has(peer);
  }

  isFailed(peer: number): boolean {
    return this.failed.has(peer);
  }

  /** Every receive still waiting, oldest first per context. */
  pending(now = Date.now()): PendingRecv[] {
    const out: PendingRecv[] = [];
    for (const s of this.contexts.values()) {
      for (const p of s.posted) out.push({ op: p.op, ctx: p.ctx, src: p.src, tag: p.tag, ms: now - p.since });
    }
    return out;
  }

  /** Number of contexts with state (tests check that freeing communicators keeps this flat). */
  get contextCount(): number {
    return this.contexts.size;
  }
}
