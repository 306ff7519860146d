// Rendezvous of a starting job: every rank checks in with rank 0 at DARRAY_ROOT and learns every other rank's
// endpoints, within the connect timeout; hellos from other jobs or earlier incarnations are refused.
import * as zmq from 'zeromq';
import { Packr } from 'msgpackr';
import { ProtocolError, TimeoutError } from '../errors.js';
import type { RankEnv } from './env.js';
import { clientOptions, serverOptions, type JobKeys } from './security.js';

/** Every rank's data and control endpoint, by world rank. */
export interface AddressTable {
  data: string[];
  ctl: string[];
}

const helloCodec = new Packr({ useRecords: false });

/**
 * Trades endpoints: rank 0 gathers every rank's data and control addresses on a ROUTER at DARRAY_ROOT and hands
 * the table to all. On tcp with keys the ROUTER is a CURVE server. An ipc root's socket file goes on `ownFiles`
 * (the transport removes it at close).
 */
export async function rendezvous(env: RankEnv, data: string, ctl: string, keys: JobKeys | undefined, ownFiles: string[]): Promise<AddressTable> {
  const { rank, size } = env;
  const deadline = Date.now() + env.connectTimeoutMs;
  const hello = { job: env.jobId, epoch: env.epoch, rank, size, data, ctl };
  if (rank === 0) {
    const router = new zmq.Router({ mandatory: true, linger: 2000, ...(keys ? serverOptions(keys) : {}) });
    try {
      await router.bind(env.root);
      if (env.root.startsWith('ipc://')) ownFiles.push(env.root.slice(6));
      const table = { data: new Array<string>(size), ctl: new Array<string>(size) };
      table.data[0] = data;
      table.ctl[0] = ctl;
      const ids: Buffer[] = [];
      while (ids.length < size - 1) {
        router.receiveTimeout = Math.max(1, deadline - Date.now());
        let frames: Buffer[];
        try {
          frames = await router.receive();
        } catch (e) {
          const missing = [...table.data.keys()].filter((r) => !table.data[r]);
          throw new TimeoutError(`rendezvous at ${env.root}: ranks ${missing.join(',')} did not check in within ${env.connectTimeoutMs} ms`, { rank: 0, op: 'init' }, { cause: e });
        }
        const h = safeUnpack(frames[1]) as typeof hello | undefined;
        if (!h || h.job !== env.jobId || h.epoch !== env.epoch || h.size !== size || !Number.isInteger(h.rank) || h.rank < 1 || h.rank >= size || table.data[h.rank]) {
          process.stderr.write(`[rank 0] darray init: refused a rendezvous hello that is not from this job: ${JSON.stringify(h)?.slice(0, 200)}\n`);
          continue;
        }
        table.data[h.rank] = h.data;
        table.ctl[h.rank] = h.ctl;
        ids.push(frames[0]);
      }
      const reply = Buffer.from(helloCodec.pack(table));
      for (const id of ids) await router.send([id, reply]);
      return table;
    } finally {
      router.close();
    }
  }
  const dealer = new zmq.Dealer({ linger: 0, receiveTimeout: env.connectTimeoutMs, ...(keys ? clientOptions(keys) : {}) });
  try {
    dealer.connect(env.root);
    await dealer.send(Buffer.from(helloCodec.pack(hello)));
    let frames: Buffer[];
    try {
      frames = await dealer.receive();
    } catch (e) {
      throw new TimeoutError(`rendezvous with rank 0 at ${env.root} got no answer within ${env.connectTimeoutMs} ms`, { rank, op: 'init', peer: 0 }, { cause: e });
    }
    const table = safeUnpack(frames[0]) as AddressTable | undefined;
    if (!table || !Array.isArray(table.data) || table.data.length !== size) {
      throw new ProtocolError('malformed address table from rank 0', { rank, op: 'init', peer: 0 });
    }
    return table;
  } finally {
    dealer.close();
  }
}

/** A msgpack hello or table, or undefined for bytes that are not one. */
function safeUnpack(b: Buffer | undefined): unknown {
  try {
    return b ? helloCodec.unpack(b) : undefined;
  } catch {
    return undefined;
  }
}
