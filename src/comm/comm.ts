// The Comm class: an MPI-style communicator over the world transport. Point-to-point with MPI matching,
// collectives on a private Channel per call, split into sub-communicators with their own contexts.
import { CommError } from '../errors.js';
import type { Channel } from './channel.js';
import * as coll from './collectives.js';
import type { ReduceOp, TypedArray } from './reduce-ops.js';
import { ANY_SOURCE, ANY_TAG, TAG_UB, WORLD_CONTEXT, checkRank, checkTag } from './tags.js';
import { LocalGroup } from './shm.js';
import type { Transport } from './transport.js';
import { traceCollective } from '../trace/recorder.js';

/** What recvStatus returns: the message and its envelope (source is a rank of this communicator). */
export interface Status<T = unknown> {
  data: T;
  source: number;
  tag: number;
}

/** Names the contexts of live communicators for the SIGUSR2 dump. */
const contextNames = new Map<number, string>();
export function contextLabel(ctx: number): string {
  const base = ctx - (ctx % 2);
  const name = contextNames.get(base) ?? `communicator ctx ${base}`;
  return ctx % 2 ? `${name} (collective)` : name;
}

/**
 * A communicator: a group of ranks and a private message space among them. Made by `init()` (the world) and
 * by `split`. Methods are collective when their TSDoc says so: every rank of the communicator must call them
 * in the same order.
 */
export class Comm {
  /** This process's rank in the communicator, 0 <= rank < size. */
  readonly rank: number;
  /** Number of ranks in the communicator. */
  readonly size: number;
  private readonly worldToLocal = new Map<number, number>();
  private callSeq = 0;
  private freed = false;
  /** Shared-memory state for the collectives, when all members run on this host (an ipc job is one host). */
  private readonly local?: LocalGroup;

  /** @internal Use `init()` or `split`; `members[i]` is the world rank of this communicator's rank i. */
  constructor(
    private readonly transport: Transport,
    private readonly ctx: number,
    private readonly members: readonly number[],
    name: string,
  ) {
    this.rank = members.indexOf(transport.rank);
    this.size = members.length;
    if (this.rank < 0) throw new CommError('this rank is not a member of the communicator', { rank: transport.rank, op: 'split' });
    members.forEach((w, i) => this.worldToLocal.set(w, i));
    if (transport.env.transport === 'ipc' && this.size > 1) this.local = new LocalGroup();
    transport.matcher.registerContext(ctx, members);
    transport.matcher.registerContext(ctx + 1, members);
    contextNames.set(ctx, name);
  }

  private live(op: string): void {
    if (this.freed) throw new CommError('the communicator was freed', { rank: this.rank, op });
  }

  /**
   * Sends `data` to rank `dest` with `tag`. Not collective. Blocks (the promise waits) until `data` may be
   * reused: small payloads are copied at once, large typed arrays are sent without a copy and complete when
   * the receiver has them. A TypedArray arrives as the same type and length; anything else travels as msgpack.
   * Messages to one rank with one tag arrive in the order sent. Rejects with PeerFailedError if `dest` is lost.
   */
  send(data: unknown, dest: number, tag = 0): Promise<void> {
    try {
      this.live('send');
      checkRank(dest, this.size, this.rank, 'send', 'destination', false);
      checkTag(tag, this.rank, 'send', false);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.transport.send(this.members[dest], this.ctx, tag, data, 'send');
  }

  /**
   * Receives the first message from `source` (or ANY_SOURCE) with `tag` (or ANY_TAG) and returns its data.
   * Not collective; blocks until a matching message arrives, or rejects with PeerFailedError when the sender
   * (for ANY_SOURCE: any member) is lost.
   */
  recv<T = unknown>(source: number = ANY_SOURCE, tag: number = 0): Promise<T> {
    try {
      this.live('recv');
      checkRank(source, this.size, this.rank, 'recv', 'source', true);
      checkTag(tag, this.rank, 'recv', true);
    } catch (e) {
      return Promise.reject(e);
    }
    const src = source === ANY_SOURCE ? ANY_SOURCE : this.members[source];
    return this.transport.recv(this.ctx, src, tag, 'recv').then(dataOf) as Promise<T>;
  }

  /** Like `recv`, also returning the message's source rank and tag. Not collective; blocks. */
  async recvStatus<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<Status<T>> {
    const op = 'recvStatus';
    this.live(op);
    checkRank(source, this.size, this.rank, op, 'source', true);
    checkTag(tag, this.rank, op, true);
    const src = source === ANY_SOURCE ? ANY_SOURCE : this.members[source];
    const m = await this.transport.recv(this.ctx, src, tag, op);
    return { data: m.data as T, source: this.worldToLocal.get(m.src)!, tag: m.tag };
  }

  /**
   * @internal Collective: whether every rank of this communicator can map every other's shared memory (probed
   * once; false off a single host or with DARRAY_SHM=0), and whether each can also read the others' memory
   * directly (false with DARRAY_SHM=segment or where the system forbids it).
   */
  async shareMemory(): Promise<{ shared: boolean; direct: boolean }> {
    if (!this.local) return { shared: false, direct: false };
    const shared = await this.local.usable(this.channel('shared-memory probe'));
    return { shared, direct: this.local.direct };
  }

  /** A private channel for one collective call: its own tag in this communicator's collective context. */
  private channel(op: string): Channel {
    this.live(op);
    const tag = this.callSeq;
    this.callSeq = this.callSeq === TAG_UB ? 0 : this.callSeq + 1;
    return new CallChannel(this.transport, this.members, this.rank, this.ctx + 1, tag, op, this.local);
  }

  /** Collective; blocks until every rank of the communicator has entered it. */
  barrier(): Promise<void> {
    const ch = this.channel('barrier');
    return traceCollective('barrier', this.ctx + 1, this.size, () => coll.barrier(ch));
  }

  /**
   * Collective; returns the root's value on every rank. On a rank other than the root, `opts.into` (a typed
   * array of the root's array's type and length) receives the array in place and is returned, as MPI_Bcast
   * fills its buffer: a loop of broadcasts then reuses one buffer instead of allocating each time. A mismatched
   * `into` raises CommError on its rank once the broadcast is over (the others are not held up).
   */
  bcast<T>(value: T, root = 0, opts: { into?: TypedArray } = {}): Promise<T> {
    const ch = this.channel('bcast');
    return traceCollective('bcast', this.ctx + 1, this.size, () => coll.bcast(ch, value, root, opts.into));
  }

  /** Collective; the reduction of every rank's value (number or TypedArray, elementwise) on root, undefined elsewhere. */
  reduce<T>(value: T, op: ReduceOp = 'sum', root = 0): Promise<T | undefined> {
    const ch = this.channel('reduce');
    return traceCollective('reduce', this.ctx + 1, this.size, () => coll.reduce(ch, value, op, root));
  }

  /** Collective; the reduction of every rank's value, the same on every rank. */
  allreduce<T>(value: T, op: ReduceOp = 'sum'): Promise<T> {
    const ch = this.channel('allreduce');
    return traceCollective('allreduce', this.ctx + 1, this.size, () => coll.allreduce(ch, value, op));
  }

  /** Collective; every rank's value in rank order on root, undefined elsewhere. */
  gather<T>(value: T, root = 0): Promise<T[] | undefined> {
    const ch = this.channel('gather');
    return traceCollective('gather', this.ctx + 1, this.size, () => coll.gather(ch, value, root));
  }

  /** Collective; every rank's value in rank order on every rank. */
  allgather<T>(value: T): Promise<T[]> {
    const ch = this.channel('allgather');
    return traceCollective('allgather', this.ctx + 1, this.size, () => coll.allgather(ch, value));
  }

  /** Collective; rank i gets the root's `values[i]` (`values` is read on the root only). */
  scatter<T>(values: T[] | undefined, root = 0): Promise<T> {
    const ch = this.channel('scatter');
    return traceCollective('scatter', this.ctx + 1, this.size, () => coll.scatter(ch, values, root));
  }

  /** Collective; `values[i]` goes to rank i, and the result's `[i]` is what rank i sent here. */
  alltoall<T>(values: T[]): Promise<T[]> {
    const ch = this.channel('alltoall');
    return traceCollective('alltoall', this.ctx + 1, this.size, () => coll.alltoall(ch, values));
  }

  /**
   * Collective; splits the communicator by `color`. Ranks with the same non-negative integer color form a new
   * communicator, ordered by `key` (ties by rank here). A rank whose color is undefined or negative is in none
   * and gets null. The new communicator gets a context id agreed by all ranks, so its traffic never mixes with
   * this one's or any other's.
   */
  async split(color: number | undefined, key: number = this.rank): Promise<Comm | null> {
    this.live('split');
    const c = color === undefined || color === null ? -1 : color;
    if (typeof c !== 'number' || !Number.isInteger(c)) {
      throw new CommError(`bad color ${String(color)}: expected an integer or undefined`, { rank: this.rank, op: 'split' });
    }
    if (typeof key !== 'number' || !Number.isSafeInteger(key)) {
      throw new CommError(`bad key ${String(key)}: expected an integer`, { rank: this.rank, op: 'split' });
    }
    const all = await exchange(this.channel('split'), [c, key, this.transport.nextCtx]);
    const ctx = Math.max(...all.map((e) => e[2]));
    this.transport.nextCtx = ctx + 2;
    if (c < 0) return null;
    const mine = all
      .map(([col, k], r) => ({ col, k, r }))
      .filter((e) => e.col === c)
      .sort((a, b) => a.k - b.k || a.r - b.r)
      .map((e) => this.members[e.r]);
    return new Comm(this.transport, ctx, mine, `communicator ctx ${ctx} (split color ${c})`);
  }

  /**
   * Releases the communicator's message space. Local, not blocking; call it on every member once no
   * operation on the communicator is pending. Further calls on it throw CommError.
   */
  free(): void {
    if (this.freed) return;
    if (this.ctx === WORLD_CONTEXT) throw new CommError('the world communicator is released by finalize(), not free()', { rank: this.rank, op: 'free' });
    this.freed = true;
    const err = new CommError('the communicator was freed while a receive was pending', { rank: this.rank, op: 'free' });
    this.transport.matcher.freeContext(this.ctx, err);
    this.transport.matcher.freeContext(this.ctx + 1, err);
    contextNames.delete(this.ctx);
  }
}

/**
 * The Channel of one collective call. A class rather than an object of closures: its methods are shared, so a
 * small collective (a few microseconds of work between messages) allocates no functions per call.
 */
class CallChannel implements Channel {
  readonly size: number;
  constructor(
    private readonly transport: Transport,
    private readonly members: readonly number[],
    readonly rank: number,
    private readonly cctx: number,
    private readonly tag: number,
    private readonly op: string,
    readonly local: LocalGroup | undefined,
  ) {
    this.size = members.length;
  }

  send(data: unknown, dest: number): Promise<void> {
    const world = this.members[checkRank(dest, this.size, this.rank, this.op, 'destination', false)];
    return this.transport.send(world, this.cctx, this.tag, data, this.op);
  }

  recv(source: number): Promise<unknown> {
    let world: number;
    try {
      world = this.members[checkRank(source, this.size, this.rank, this.op, 'source', false)];
    } catch (e) {
      return Promise.reject(e);
    }
    return this.transport.recv(this.cctx, world, this.tag, this.op).then(dataOf);
  }
}

function dataOf(m: { data: unknown }): unknown {
  return m.data;
}

/** Every rank's small value, in rank order, through rank 0 (split's own exchange, independent of the collectives). */
async function exchange<T>(ch: Channel, value: T): Promise<T[]> {
  if (ch.size === 1) return [value];
  if (ch.rank !== 0) {
    await ch.send(value, 0);
    return (await ch.recv(0)) as T[];
  }
  const all: T[] = [value];
  for (let r = 1; r < ch.size; r++) all.push((await ch.recv(r)) as T);
  await Promise.all(Array.from({ length: ch.size - 1 }, (_, i) => ch.send(all, i + 1)));
  return all;
}
