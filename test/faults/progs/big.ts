// Issue 6, item 3: one message of 2.5 GiB (past Node's 2 GiB single-buffer habits and zmq's frame sizes, so it
// travels chunked) from rank 0 to rank 1; every word is checked. Usage: big.ts [GIB] (default 2.5).
import { finalize, init } from '../../../src/comm/index.js';

const GIB = Number(process.argv[2] ?? 2.5);
const words = Math.floor((GIB * 2 ** 30) / 4);
const comm = await init();
const word = (i: number): number => (0x5bd1e995 + Math.imul(i, 0x9e3779b1)) >>> 0;
const t0 = Date.now();
if (comm.rank === 0) {
  const a = new Uint32Array(words);
  for (let i = 0; i < words; i++) a[i] = word(i);
  const t1 = Date.now();
  await comm.send(a, 1, 7);
  console.log(`big: sent ${a.byteLength} bytes in ${Date.now() - t1} ms (fill ${t1 - t0} ms)`);
} else if (comm.rank === 1) {
  const a = await comm.recv<Uint32Array>(0, 7);
  const t1 = Date.now();
  let bad = 0;
  if (!(a instanceof Uint32Array) || a.length !== words) bad = -1;
  else for (let i = 0; i < words; i++) if (a[i] !== word(i)) bad++;
  console.log(`big: received ${a.byteLength} bytes as ${a.constructor.name} after ${t1 - t0} ms, ${bad} mismatches`);
  if (bad !== 0) process.exit(1);
}
await comm.barrier();
await finalize();
