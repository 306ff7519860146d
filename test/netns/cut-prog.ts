// Program of the netns test's cut case: ranks 0,1 in one namespace and 2,3 in the other exchange checked
// messages across the relay until it is cut. Usage: cut-prog.ts DIR. Rank 0 writes DIR/go after 20 rounds (the
// test then cuts the relay); each rank prints "lost <peer> at <ms> <error class>: <message>" and exits 7 on the
// first failure (<ms> is Date.now()), or "WRONG ..." and exits 8 if a message arrived damaged (silent loss or corruption).
import { writeFileSync } from 'node:fs';
import { init } from '../../src/comm/index.js';
import { PeerFailedError } from '../../src/errors.js';

const dir = process.argv[2];
const comm = await init();
const { rank, size } = comm;
const partner = (rank + size / 2) % size; // the rank in the other namespace
const N = 4096;

for (let round = 0; round < 100_000; round++) {
  const out = new Float64Array(N).map((_, i) => rank * 1e6 + round * N + i);
  let got: Float64Array;
  try {
    [, got] = await Promise.all([comm.send(out, partner, round % 100), comm.recv<Float64Array>(partner, round % 100)]);
  } catch (e) {
    const peer = (e as { peer?: number }).peer;
    console.log(`lost ${peer} at ${Date.now()} ${(e as Error).constructor.name}: ${(e as Error).message}`);
    process.exit(e instanceof PeerFailedError ? 7 : 9);
  }
  for (let i = 0; i < N; i++) {
    if (got[i] !== partner * 1e6 + round * N + i) {
      console.log(`WRONG round ${round} element ${i}: ${got[i]}`);
      process.exit(8);
    }
  }
  if (round === 20 && rank === 0) writeFileSync(`${dir}/go`, String(Date.now()));
}
console.log(`rank ${rank}: 100000 rounds without noticing the cut`);
process.exit(1);
