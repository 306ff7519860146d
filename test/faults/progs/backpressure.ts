// Issue 6, item 4: backpressure. Rank 1 posts no receive for PAUSE_S seconds while rank 0 pushes TOTAL_MIB of
// fresh 4 MiB messages (a new buffer each, as naive code would): sends must wait instead of queueing without
// bound or dropping, the sender's memory must stay bounded, and every message must arrive intact and in order.
// Usage: backpressure.ts [TOTAL_MIB=1024] [PAUSE_S=10]. Prints one "backpressure:" line per rank.
import { finalize, init } from '../../../src/comm/index.js';

const TOTAL_MIB = Number(process.argv[2] ?? 1024);
const PAUSE_S = Number(process.argv[3] ?? 10);
const MSG = 4 << 20;
const N = Math.round((TOTAL_MIB * 2 ** 20) / MSG);
const comm = await init();
const mib = (b: number) => (b / 2 ** 20).toFixed(0);
const word = (k: number, i: number) => (k * 0x01000193 + i) >>> 0;

let peakRss = process.memoryUsage().rss;
const base = peakRss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
await comm.barrier();
const t0 = Date.now();
if (comm.rank === 0) {
  let done = 0;
  let doneDuringPause = -1;
  const pauseEnd = setTimeout(() => (doneDuringPause = done), PAUSE_S * 1000 - 500);
  const window: Promise<void>[] = [];
  for (let k = 0; k < N; k++) {
    const a = new Uint32Array(MSG / 4);
    for (let i = 0; i < a.length; i += 1024) a[i] = word(k, i); // sparse stamp: cheap to make, enough to check
    window.push(comm.send(a, 1, 5).then(() => void done++));
    if (window.length >= 8) await window.shift();
  }
  await Promise.all(window);
  clearTimeout(pauseEnd);
  console.log(`backpressure: sender pushed ${N} x 4 MiB in ${Date.now() - t0} ms; ${doneDuringPause} sends completed while the receiver slept ${PAUSE_S} s; peak RSS +${mib(peakRss - base)} MiB`);
  const bound = 256 + 128; // the receiver's unexpected-mail limit plus what is in flight, never the whole push
  if (doneDuringPause < 0 || doneDuringPause * 4 > bound) throw new Error(`sends did not wait: ${doneDuringPause} of ${N} completed during the pause`);
  if (peakRss - base > 512 * 2 ** 20) throw new Error(`sender memory grew by ${mib(peakRss - base)} MiB`);
} else if (comm.rank === 1) {
  await new Promise((r) => setTimeout(r, PAUSE_S * 1000));
  let bad = 0;
  for (let k = 0; k < N; k++) {
    const a = await comm.recv<Uint32Array>(0, 5);
    if (a.length !== MSG / 4) bad++;
    else for (let i = 0; i < a.length; i += 1024) if (a[i] !== word(k, i)) { bad++; break; }
  }
  console.log(`backpressure: receiver got ${N} messages in order after its ${PAUSE_S} s pause, ${bad} bad, peak RSS +${mib(peakRss - base)} MiB`);
  if (bad) process.exit(1);
}
clearInterval(sampler);
await comm.barrier();
await finalize();
