// Process lifecycle of the communicator: init() joins the job and returns the world Comm, finalize() leaves
// it in order; a SIGUSR2 handler dumps what each blocked operation waits for (the launcher's --timeout).
import { hostname, tmpdir } from 'node:os';
import { Comm, contextLabel } from './comm.js';
import { detectEnv } from './env.js';
import { WORLD_CONTEXT } from './tags.js';
import { Transport } from './transport.js';
import { traceAttach, traceFinish } from '../trace/session.js';

let world: Promise<Comm> | undefined;
let transport: Transport | undefined;
let finalized = false;

function dumpPending(): void {
  if (!transport) return;
  const lines = transport.pendingReport(contextLabel);
  const head = `[rank ${transport.rank}] darray: ${lines.length ? lines.length : 'no'} pending operation${lines.length === 1 ? '' : 's'}`;
  process.stderr.write([head, ...lines.map((l) => `[rank ${transport!.rank}]   ${l}`)].join('\n') + '\n');
}

/**
 * Joins the job and returns the world communicator. Collective over all ranks of the job (it waits for every
 * rank to check in, bounded by DARRAY_CONNECT_TIMEOUT_MS). A process started without a launcher is rank 0 of 1.
 * Calling it again returns the same communicator.
 */
export function init(): Promise<Comm> {
  if (finalized) return Promise.reject(new Error('darray: init() after finalize() is not supported'));
  world ??= (async () => {
    const env = detectEnv(process.env, { uid: process.getuid?.() ?? 0, tmpdir: tmpdir(), hostname: hostname() });
    transport = await Transport.open(env);
    process.on('SIGUSR2', dumpPending);
    // Leaving without finalize (an uncaught error, process.exit): drop the sockets and our socket files.
    process.once('exit', () => transport?.abort());
    const comm = new Comm(transport, WORLD_CONTEXT, Array.from({ length: env.size }, (_, i) => i), 'world');
    await traceAttach(comm); // collective; a no-op unless the launcher's --trace asked for a trace
    // Ranks of one host pass large typed arrays through shared memory once all of them can map each other's, and
    // read them straight from the sender's memory once all of them can read each other's.
    const { shared, direct } = await comm.shareMemory();
    if (shared) transport.enableShared(direct);
    return comm;
  })();
  world.catch(() => (world = undefined));
  return world;
}

/**
 * Leaves the job: collective over the live ranks. Waits until every live peer has finalized too (so no
 * message in flight is lost), then closes the sockets and removes this rank's socket files.
 */
export async function finalize(): Promise<void> {
  if (finalized || !world) return;
  finalized = true;
  await world.catch(() => undefined);
  if (transport) {
    await traceFinish(); // collective while every rank is still connected; writes this rank's part
    await transport.close();
    process.off('SIGUSR2', dumpPending);
  }
}
