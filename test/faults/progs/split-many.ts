// Issue 6, item 9: create and free N (default 10,000) split communicators that reuse the same tags: each one
// carries a p2p exchange, an allreduce and a message left unreceived when it is freed; none may leak into a later
// communicator (cross-talk), and memory and matcher state must stay flat. Run with NODE_OPTIONS=--expose-gc.
// Usage: split-many.ts [N]. Prints "split-many:" lines with the figures.
import { finalize, init } from '../../../src/comm/index.js';

const N = Number(process.argv[2] ?? 10_000);
const comm = await init();
const { rank, size } = comm;
const gc = (globalThis as { gc?: () => void }).gc;
const contexts = (): number => (comm as unknown as { transport: { matcher: { contextCount: number } } }).transport.matcher.contextCount;
const heap = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed;
};

let bad = 0;
let heapAt = 0;
let ctxAt = 0;
const WARM = Math.min(1000, N >> 2);
const t0 = Date.now();
for (let i = 0; i < N; i++) {
  if (i === WARM) {
    heapAt = heap();
    ctxAt = contexts();
  }
  const color = (rank + i) % 2; // the members change from one communicator to the next
  const sub = await comm.split(color, size - rank);
  if (!sub) throw new Error(`rank ${rank}: split ${i} returned no communicator`);
  if (sub.size > 1) {
    const to = (sub.rank + 1) % sub.size;
    const from = (sub.rank + sub.size - 1) % sub.size;
    // Same tag every time: mail from an earlier communicator must never match here.
    const [, got] = await Promise.all([sub.send([i, rank], to, 9), sub.recv<[number, number]>(from, 9)]);
    if (got[0] !== i) bad++;
    if (i % 3 === 0) await sub.send([i, -1], to, 9); // left unreceived: freed with the communicator
  }
  const sum = await sub.allreduce(1);
  if (sum !== sub.size) bad++;
  sub.free();
}
const ms = Date.now() - t0;
await comm.barrier();
const growth = heap() - heapAt;
const ctxGrowth = contexts() - ctxAt;
console.log(`split-many: rank ${rank}: ${N} communicators in ${ms} ms, ${bad} cross-talk, heap ${(growth / 2 ** 20).toFixed(2)} MiB after ${WARM} warm-up, matcher contexts ${ctxAt} -> ${contexts()}${gc ? '' : ' (no --expose-gc: heap figure is rough)'}`);
const totalBad = await comm.allreduce(bad, 'sum');
await finalize();
if (totalBad !== 0) throw new Error(`${totalBad} messages crossed between communicators`);
if (ctxGrowth > 4) throw new Error(`matcher contexts grew by ${ctxGrowth}`);
if (gc && growth > 8 * 2 ** 20) throw new Error(`heap grew by ${(growth / 2 ** 20).toFixed(1)} MiB over ${N - WARM} communicators`);
