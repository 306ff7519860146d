// Placement: onRank(comm, r, make) builds an object on rank r only and gives every rank a handle whose
// method calls run on that object (remote ranks send the call and await the answer), like an actor.
import { ANY_SOURCE, type Comm } from '../comm/index.js';
import { DArrayError } from '../errors.js';
import { describe, fail } from './types.js';

/** The methods of T, each returning a promise of its result. */
export type Remote<T> = {
  [K in keyof T as T[K] extends (...args: never[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

/** What `onRank` returns: the object's methods plus these reserved names. */
export type Handle<T> = Remote<T> & {
  /** The rank the object lives on. */
  readonly owner: number;
  /** The object itself on the owner rank, undefined elsewhere. */
  readonly local: T | undefined;
  /** Collective: stops serving calls and releases the private communicator; the handle is dead afterwards. */
  release(): Promise<void>;
};

const RESERVED = new Set(['owner', 'local', 'release', 'then']);
// On the handle's private communicator: requests travel with tag 0; the answer to call id c with tag 1 + c,
// so answers never need to arrive in the order the calls were made.
const REQ = 0;
const MAX_ID = 2 ** 31 - 3;
type Request = [id: number, method: string, args: unknown[]] | [id: -1];
type Reply = [ok: true, value: unknown] | [ok: false, name: string, message: string];

/**
 * Builds `make()` on rank `owner` only and returns a handle on every rank. Collective: every rank of `comm`
 * calls it (it makes a private communicator, and a failing `make` throws the same error on every rank).
 *
 * Calls through the handle (`h.method(...args)`) are NOT collective: any rank calls any method at any time and
 * awaits the answer; the other ranks are not involved. Arguments and results travel as msgpack (numbers,
 * strings, plain objects, arrays, typed arrays) and are copies on both sides; a method may be async.
 *
 * The owner serves remote calls from its event loop while its own program runs, so it must keep awaiting
 * (any pending await lets it serve) rather than compute synchronously for long. Calls on one object run one at
 * a time in arrival order, the owner's own calls through the handle included (an actor), so a method never
 * sees another call interleaved at its awaits. An exception in a method is re-thrown at the caller.
 * `release()` is collective and waits until every rank released, then the handle is dead.
 */
export async function onRank<T extends object>(comm: Comm, owner: number, make: () => T | Promise<T>): Promise<Handle<T>> {
  const ctx = { rank: comm.rank, op: 'onRank' };
  if (!Number.isInteger(owner) || owner < 0 || owner >= comm.size) fail(`owner must be a rank in 0..${comm.size - 1}, got ${String(owner)}`, ctx);
  if (typeof make !== 'function') fail(`make must be a function that builds the object, got ${describe(make)}`, ctx);
  const priv = (await comm.split(0))!;
  let obj: T | undefined;
  let problem: string | null = null;
  if (comm.rank === owner) {
    try {
      obj = await make();
      if (obj === null || (typeof obj !== 'object' && typeof obj !== 'function')) problem = `make() returned ${describe(obj)}, not an object`;
    } catch (e) {
      problem = `make() threw ${(e as Error)?.name ?? 'an error'}: ${(e as Error)?.message ?? String(e)}`;
    }
  }
  problem = await priv.bcast(problem, owner);
  if (problem !== null) {
    priv.free();
    fail(`building the object on rank ${owner} failed: ${problem}`, ctx);
  }
  return comm.rank === owner ? ownerHandle(priv, obj!) : remoteHandle<T>(priv, owner);
}

/** The owner's side: a serial queue of calls, fed by its own calls and by a loop receiving remote requests. */
function ownerHandle<T extends object>(comm: Comm, obj: T): Handle<T> {
  let queue: Promise<unknown> = Promise.resolve();
  let live = true;
  const run = (method: string, args: unknown[]): Promise<unknown> => {
    const f = (obj as Record<string, unknown>)[method];
    const result = queue.then(() => {
      if (typeof f !== 'function') throw new DArrayError(`the object on rank ${comm.rank} has no method '${method}'`, { rank: comm.rank, op: `onRank call ${method}` });
      return (f as (...a: unknown[]) => unknown).apply(obj, args);
    });
    queue = result.catch(() => undefined);
    return result;
  };
  // Serves remote requests until every other rank has said goodbye (id -1 in release()).
  const served = (async () => {
    let left = comm.size - 1;
    while (left > 0) {
      const { data, source } = await comm.recvStatus<Request>(ANY_SOURCE, REQ);
      if (data[0] === -1) { left--; continue; }
      const [id, method, args] = data as [number, string, unknown[]];
      let reply: Reply;
      try {
        reply = [true, await run(method, args)];
      } catch (e) {
        reply = [false, (e as Error)?.name ?? 'Error', (e as Error)?.message ?? String(e)];
      }
      try {
        await comm.send(reply, source, 1 + id);
      } catch (e) {
        // The result could not be encoded: answer with the reason rather than leave the caller waiting.
        await comm.send([false, 'DArrayError', `the result of '${method}' could not be sent: ${(e as Error)?.message ?? String(e)}`] satisfies Reply, source, 1 + id);
      }
    }
  })();
  served.catch(() => undefined); // reported by release()
  const base = {
    owner: comm.rank,
    local: obj,
    release: async () => {
      if (!live) return;
      live = false;
      await served;
      await queue;
      await comm.barrier();
      comm.free();
    },
  };
  return proxy<T>(base, (method, args) => {
    if (!live) fail('the handle was released', { rank: comm.rank, op: `onRank call ${method}` });
    return run(method, args);
  });
}

/** A non-owner's side: each call is a request to the owner and an answer on the call's own tag. */
function remoteHandle<T extends object>(comm: Comm, owner: number): Handle<T> {
  let nextId = 0;
  let live = true;
  const base = {
    owner,
    local: undefined,
    release: async () => {
      if (!live) return;
      live = false;
      await comm.send([-1] satisfies Request, owner, REQ);
      await comm.barrier();
      comm.free();
    },
  };
  return proxy<T>(base, async (method, args) => {
    const op = `onRank call ${method}`;
    if (!live) fail('the handle was released', { rank: comm.rank, op });
    const id = nextId;
    nextId = nextId === MAX_ID ? 0 : nextId + 1;
    const answer = comm.recv<Reply>(owner, 1 + id); // posted before the request goes out
    await comm.send([id, method, args] satisfies Request, owner, REQ);
    const reply = await answer;
    if (reply[0]) return reply[1];
    throw new DArrayError(`remote ${reply[1]}: ${reply[2]}`, { rank: comm.rank, op, peer: owner });
  });
}

/** Wraps the reserved members; every other property name is a method call through `call`. */
function proxy<T>(base: object, call: (method: string, args: unknown[]) => Promise<unknown>): Handle<T> {
  return new Proxy(base, {
    get(target, prop) {
      if (typeof prop !== 'string') return undefined;
      if (RESERVED.has(prop)) return (target as Record<string, unknown>)[prop]; // 'then' is undefined: not a thenable
      return (...args: unknown[]) => {
        try {
          return call(prop, args);
        } catch (e) {
          return Promise.reject(e); // a method call always answers with a promise, errors included
        }
      };
    },
  }) as Handle<T>;
}
