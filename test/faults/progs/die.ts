// Fault program for items 1 and 2 of issue 6: every rank runs one operation in a loop and the victim fails in
// the middle of it (exit, throw, SIGKILL or SIGSTOP). Usage: die.ts MODE OP VICTIM DIR [DELAY_MS].
// Each rank writes DIR/pid-<rank> and DIR/rundir; the victim writes DIR/death (ms) just before it fails.
// In stop mode the survivors must see PeerFailedError naming the victim and print "detected <op> <ms>".
import { writeFileSync, readFileSync } from 'node:fs';
import { ANY_SOURCE, init, type Comm } from '../../../src/comm/index.js';
import { PeerFailedError } from '../../../src/errors.js';

const [mode, op, victimArg, dir, delayArg] = process.argv.slice(2);
const victim = Number(victimArg);
const delay = Number(delayArg ?? 0);
const MODES = ['exit', 'throw', 'kill', 'stop'];
if (!MODES.includes(mode) || !dir || !Number.isInteger(victim)) {
  console.error(`usage: die.ts ${MODES.join('|')} OP VICTIM DIR [DELAY_MS]`);
  process.exit(2);
}

const comm = await init();
const { rank, size } = comm;
writeFileSync(`${dir}/pid-${rank}`, String(process.pid));
if (rank === 0) writeFileSync(`${dir}/rundir`, process.env.DARRAY_RUNDIR ?? '');
const big = new Float64Array(1 << 20); // 8 MiB: a send of it is in flight for a while (acked sends)

/** One round of `op` on this rank; every rank calls it the same number of times. */
async function once(c: Comm, i: number): Promise<unknown> {
  const peer = (rank + 1) % size;
  const from = (rank + size - 1) % size;
  switch (op) {
    case 'send': // a ring of large sends: each rank sends to the next and receives from the previous
      return Promise.all([c.send(big, peer, 1), c.recv(from, 1)]);
    case 'anyrecv': { // everyone asks the hub (rank 0, or 1 when 0 is the victim), which takes any source and answers
      const hub = victim === 0 ? 1 : 0;
      if (rank === hub) {
        for (let k = 0; k < size - 1; k++) {
          const m = await c.recvStatus(ANY_SOURCE, 2);
          await c.send(m.data, m.source, 3);
        }
        return undefined;
      }
      await c.send(i, hub, 2);
      return c.recv(hub, 3);
    }
    case 'barrier': return c.barrier();
    case 'bcast': return c.bcast(rank === 0 ? big : undefined, 0);
    case 'reduce': return c.reduce(big, 'sum', 0);
    case 'allreduce': return c.allreduce(big, 'sum');
    case 'gather': return c.gather(big.subarray(0, 1 << 16), 0);
    case 'allgather': return c.allgather(big.subarray(0, 1 << 16));
    case 'scatter': return c.scatter(rank === 0 ? Array.from({ length: size }, () => big.subarray(0, 1 << 16)) : undefined, 0);
    case 'alltoall': return c.alltoall(Array.from({ length: size }, () => big.subarray(0, 1 << 16)));
    case 'split': {
      const sub = await c.split(rank % 2);
      await sub?.allreduce(rank);
      sub?.free();
      return undefined;
    }
    default:
      throw new Error(`unknown operation ${op}`);
  }
}

function fail(): void {
  writeFileSync(`${dir}/death`, String(Date.now()));
  if (mode === 'exit') process.exit(3);
  if (mode === 'kill') process.kill(process.pid, 'SIGKILL');
  if (mode === 'stop') process.kill(process.pid, 'SIGSTOP');
  if (mode === 'throw') throw new Error(`rank ${rank}: deliberate failure in ${op}`);
}

await comm.barrier();
// Survivors go on until the launcher stops them or they notice the failure; bounded by time, not by rounds:
// in anyrecv the hub serves the live ranks without the victim, and on a loaded machine they could finish any
// number of rounds before a starved victim gets to fail.
const SECONDS = 30;
const until = Date.now() + SECONDS * 1000;
for (let i = 0; i < 3 || Date.now() < until; i++) {
  const pending = once(comm, i);
  if (rank === victim && i === 2) {
    // Die while the operation is in flight: after a short delay, without awaiting it.
    pending.catch(() => undefined);
    await new Promise((r) => setTimeout(r, delay));
    fail(); // throw mode: an uncaught error inside the program, as a user bug would be
  }
  try {
    await pending;
  } catch (e) {
    if (mode !== 'stop') throw e;
    const died = Number(readFileSync(`${dir}/death`, 'utf8'));
    const ok = e instanceof PeerFailedError && e.peer === victim && e.message.includes(`peer ${victim}`);
    console.log(`detected ${op} ${Date.now() - died} ${ok ? 'PeerFailedError' : 'WRONG'} ${(e as Error).message}`);
    // Stay up a while so that no survivor mistakes our exit for the failure it must detect; then end the
    // hung victim (SIGKILL reaches a stopped process), which ends the job.
    await new Promise((r) => setTimeout(r, 3000));
    try {
      process.kill(Number(readFileSync(`${dir}/pid-${victim}`, 'utf8')), 'SIGKILL');
    } catch { /* another survivor did it */ }
    process.exit(ok ? 0 : 1);
  }
}
console.log(`rank ${rank}: ${SECONDS} s of ${op} rounds went by without noticing the failure`);
process.exit(1);
