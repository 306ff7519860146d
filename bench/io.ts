// Benchmark of files and out-of-core (`npm run bench:io`): da.save / da.load GB/s of a 4096x4096 float64
// array at 2 ranks beside the raw write and read speed of the same disk measured in the same job, and the
// Cholesky slowdown with each rank's memory limit at half its share of the matrix. JSON lines on stdout.
// Run plain, it launches itself through scripts/mpirun.ts; under the launcher (DARRAY_RANK set) it measures.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const N = Number(process.env.BENCH_N ?? 4096);
const CHOL_N = Number(process.env.BENCH_CHOL_N ?? 4096);
const REPS = Number(process.env.BENCH_REPS ?? 3);
type Comm = import('../src/comm/index.js').Comm;

/** Best wall time of `reps` runs of a collective; the slowest rank decides each run. */
async function best(comm: Comm, reps: number, fn: () => Promise<unknown>): Promise<number> {
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    await comm.barrier();
    const t0 = performance.now();
    await fn();
    t = Math.min(t, (await comm.allreduce((performance.now() - t0) / 1000, 'max')) as number);
  }
  return t;
}

/** The raw reference: this rank writes `bytes` bytes to one file and fsyncs it, as a save's chunks are. */
function rawWrite(file: string, buf: Buffer): void {
  const fd = fs.openSync(file, 'w');
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
}

async function worker(): Promise<void> {
  const { init, finalize } = await import('../src/comm/index.js');
  const da = await import('../src/darray/index.js');
  const io = await import('../src/darray/io/index.js');
  const { cholesky } = await import('../src/linalg/index.js');
  const { tileStore } = await import('../src/darray/store/index.js');
  const comm = await init();
  const me = comm.rank;
  const dir = await comm.bcast(me === 0 ? fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'darray-bench-io-')) : '', 0);
  const out = (o: object) => { if (me === 0) console.log(JSON.stringify({ bench: 'io', ranks: comm.size, ...o })); };
  try {
    const bytes = N * N * 8;
    const A = await da.rand(comm, [N, N], { seed: 1 });
    const share = Buffer.alloc(Math.ceil(bytes / comm.size), 1);
    const rawFile = path.join(dir, `raw-${me}.bin`);
    const tRaw = await best(comm, REPS, async () => rawWrite(rawFile, share));
    const rawGBps = bytes / tRaw / 1e9;
    const tRawRead = await best(comm, REPS, async () => fs.readFileSync(rawFile));
    const rawReadGBps = bytes / tRawRead / 1e9;
    const store = path.join(dir, 'a.zarr');
    for (const compression of ['none', 'zlib'] as const) {
      const reps = compression === 'none' ? REPS : 1;
      const t = await best(comm, reps, () => io.save(A, store, { compression }));
      const GBps = bytes / t / 1e9;
      out({ op: 'save', compression, shape: [N, N], blockSize: A.blockSize, seconds: +t.toFixed(3), GBps: +GBps.toFixed(3),
        reference: 'raw write of each rank\'s share to one file + fsync', refGBps: +rawGBps.toFixed(3), ratio: +(GBps / rawGBps).toFixed(3) });
    }
    await io.save(A, store);
    for (const blockSize of [A.blockSize, [512, 384]]) {
      let L: Awaited<ReturnType<typeof io.load>> | undefined;
      const t = await best(comm, REPS, async () => { L = await io.load(comm, store, { blockSize }); });
      if ((await L!.get([N - 2, 7])) !== (await A.get([N - 2, 7]))) throw new Error('load gave a wrong element');
      const GBps = bytes / t / 1e9;
      out({ op: 'load', blockSize, storedChunks: A.blockSize, seconds: +t.toFixed(3), GBps: +GBps.toFixed(3),
        reference: 'raw read of each rank\'s share from one file', refGBps: +rawReadGBps.toFixed(3), ratio: +(GBps / rawReadGBps).toFixed(3) });
    }

    // Cholesky without a limit, then with each rank's limit at half its share of the matrix.
    const n = CHOL_N;
    const S = await da.fromFunction(comm, [n, n], (i, j) => (i === j ? n : 0) + 1 / (1 + Math.abs(i - j)), { blockSize: [256, 256] });
    let L0: Awaited<ReturnType<typeof cholesky>> | undefined;
    const tFree = await best(comm, 1, async () => { L0 = await cholesky(S); });
    // Fingerprints of the unlimited factor; the factor itself is dropped so only S and the new L count.
    const fp = async (L: NonNullable<typeof L0>) => [await L.sum(), await (await L.map((x) => x * x)).sum()];
    const want = await fp(L0!);
    L0 = undefined;
    const limit = Math.floor((n * n * 8) / comm.size / 2);
    io.setMemoryLimit(limit);
    tileStore.resetPeak();
    const before = io.memoryStats();
    let L1: Awaited<ReturnType<typeof cholesky>> | undefined;
    const tLim = await best(comm, 1, async () => { L1 = await cholesky(S); });
    const after = io.memoryStats();
    const peak = (await comm.allreduce(after.peakResidentBytes, 'max')) as number;
    const spills = (await comm.allreduce(after.spills - before.spills, 'sum')) as number;
    io.setMemoryLimit(null);
    const got = await fp(L1!);
    if (got.some((g, k) => Math.abs(g - want[k]) > 1e-12 * Math.abs(want[k]))) {
      throw new Error(`Cholesky under the memory limit differs from the unlimited one: ${got} vs ${want}`);
    }
    out({ op: 'cholesky-memory-limit', n, blockSize: [256, 256], limitBytesPerRank: limit, seconds: +tLim.toFixed(3),
      reference: 'the same Cholesky without a limit', refSeconds: +tFree.toFixed(3), slowdown: +(tLim / tFree).toFixed(3),
      spilledTiles: spills, peakResidentBytesPerRank: peak, peakOverLimit: +(peak / limit).toFixed(3) });
  } finally {
    await comm.barrier();
    if (me === 0) fs.rmSync(dir, { recursive: true, force: true });
  }
  await finalize();
}

function driver(): void {
  const self = fileURLToPath(import.meta.url);
  const launcher = fileURLToPath(new URL('../scripts/mpirun.ts', import.meta.url));
  const r = spawnSync('npx', ['tsx', launcher, '-n', '2', '--timeout', '900', self], { encoding: 'utf8', maxBuffer: 1 << 24 });
  const lines = (r.stdout ?? '').split('\n').map((l) => /^\[0\]\s*(\{.*\})\s*$/.exec(l)?.[1]).filter((l): l is string => !!l);
  for (const l of lines) console.log(l);
  if (r.status !== 0 || lines.length === 0) {
    process.stderr.write(`bench io failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}\n`);
    process.exitCode = 1;
  }
}

if (process.env.DARRAY_RANK !== undefined) await worker();
else driver();
