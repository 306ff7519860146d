// Benchmark of DArray data movement (`npm run bench:darray`): redistribute and transpose throughput of a
// 4096x4096 float64 array at 2 and 4 ranks, each beside the allreduce bandwidth measured in the same job.
// Run plain, it launches itself through scripts/mpirun.ts; under the launcher (DARRAY_RANK set) it measures.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.BENCH_N ?? 4096);
const REPS = Number(process.env.BENCH_REPS ?? 3);

/** Best wall time of `reps` runs of a collective, each started together after a barrier. */
async function best(comm: import('../src/comm/index.js').Comm, reps: number, fn: () => Promise<unknown>): Promise<number> {
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    await comm.barrier();
    const t0 = performance.now();
    await fn();
    // The slowest rank decides: a collective is done when every rank is done.
    const dt = (await comm.allreduce((performance.now() - t0) / 1000, 'max')) as number;
    t = Math.min(t, dt);
  }
  return t;
}

async function worker(): Promise<void> {
  const { init, finalize } = await import('../src/comm/index.js');
  const da = await import('../src/darray/index.js');
  const comm = await init();
  const bytes = N * N * 8;
  const A = await da.rand(comm, [N, N], { seed: 1 });
  // Reference: allreduce of a vector as large as one rank's share of the array, algorithm bandwidth.
  const v = new Float64Array(Math.ceil((N * N) / comm.size)).fill(1);
  await comm.allreduce(v, 'sum');
  const tRef = await best(comm, REPS, () => comm.allreduce(v, 'sum'));
  const refGBps = v.byteLength / tRef / 1e9;
  // Second reference: one rank copying its share in memory (the floor any exchange pays at least once).
  const w = new Float64Array(v.length);
  const tCopy = await best(comm, REPS, async () => w.set(v));
  const copyGBps = v.byteLength / tCopy / 1e9;
  const target = { blockSize: [384, 128], grid: [comm.size, 1] };
  await A.redistribute(target); // warm-up: JIT and socket buffers
  const tRed = await best(comm, REPS, () => A.redistribute(target));
  const tTr = await best(comm, REPS, () => A.transpose());
  const T = await A.transpose();
  // Spot check so a fast wrong answer cannot pass as a result.
  if ((await T.get([5, N - 3])) !== (await A.get([N - 3, 5]))) throw new Error('transpose gave a wrong element');
  if (comm.rank === 0) {
    for (const [op, t, layout] of [['redistribute', tRed, `[${A.blockSize}] on [${A.grid}] -> [${target.blockSize}] on [${target.grid}]`],
      ['transpose', tTr, `[${A.blockSize}] on [${A.grid}]`]] as const) {
      const GBps = bytes / t / 1e9;
      console.log(JSON.stringify({
        bench: 'darray', op, ranks: comm.size, shape: [N, N], dtype: 'float64', layout, seconds: +t.toFixed(4),
        GBps: +GBps.toFixed(3), reference: `allreduce of ${v.byteLength} B`, refSeconds: +tRef.toFixed(4),
        refGBps: +refGBps.toFixed(3), ratio: +(GBps / refGBps).toFixed(3),
        copyGBps: +copyGBps.toFixed(3), ratioToCopy: +(GBps / copyGBps).toFixed(4),
      }));
    }
  }
  await finalize();
}

function driver(): void {
  const self = fileURLToPath(import.meta.url);
  const launcher = fileURLToPath(new URL('../scripts/mpirun.ts', import.meta.url));
  for (const n of [2, 4]) {
    const r = spawnSync('npx', ['tsx', launcher, '-n', String(n), '--timeout', '600', self], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const lines = (r.stdout ?? '').split('\n').map((l) => /^\[0\]\s*(\{.*\})\s*$/.exec(l)?.[1]).filter((l): l is string => !!l);
    if (r.status !== 0 || lines.length === 0) {
      process.stderr.write(`bench darray at ${n} ranks failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}\n`);
      process.exitCode = 1;
      continue;
    }
    for (const l of lines) console.log(l);
  }
}

if (process.env.DARRAY_RANK !== undefined) await worker();
else driver();
