// Benchmark of distributed GEMM and Cholesky (float64) at 2 and 4 ranks beside two references measured in the
// same run: OpenBLAS/LAPACK on the whole matrix in one process with all cores, and ScaLAPACK under Open MPI.
// Prints one JSON line per (op, n, ranks) with GF/s and ratios. Usage: npm run bench:linalg [-- n... --ranks 2,4]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const mode = process.argv[2];

/** OpenBLAS 0.3.21 misdetects some virtual CPUs as Prescott (8x slower); name the real core type for all runs. */
function blasEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (!env.OPENBLAS_CORETYPE) {
    const flags = readFileSync('/proc/cpuinfo', 'utf8');
    if (/\bavx512f\b/.test(flags)) env.OPENBLAS_CORETYPE = 'SkylakeX';
    else if (/\bavx2\b/.test(flags)) env.OPENBLAS_CORETYPE = 'Haswell';
  }
  return env;
}

/** Best seconds of `reps` runs of fn (setup excluded by the caller). */
async function best(reps: number, fn: () => Promise<number>): Promise<number> {
  let b = Infinity;
  for (let r = 0; r < reps; r++) b = Math.min(b, await fn());
  return b;
}

function spd(n: number): (i: number, j: number) => number {
  return (i, j) => (i === j ? n : Math.sin(7 * Math.min(i, j) + Math.max(i, j)) * 0.5);
}

/** Child mode: the whole matrix in this process through the addon, with all cores on one call. */
async function single(op: string, n: number): Promise<void> {
  const k = await import('../src/kernels/index.js');
  const A = new Float64Array(n * n);
  let sec: number;
  if (op === 'gemm') {
    for (let x = 0; x < A.length; x++) A[x] = Math.sin(x);
    const B = A.map((v) => v * 0.5);
    const C = new Float64Array(n * n);
    sec = await best(2, async () => {
      const t0 = performance.now();
      await k.gemm(false, false, n, n, n, 1, { data: A, ld: n }, { data: B, ld: n }, 0, { data: C, ld: n });
      return (performance.now() - t0) / 1e3;
    });
  } else {
    const f = spd(n);
    sec = await best(2, async () => {
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) A[i * n + j] = f(i, j);
      const t0 = performance.now();
      await k.potrf('L', n, { data: A, ld: n });
      return (performance.now() - t0) / 1e3;
    });
  }
  console.log(JSON.stringify({ seconds: sec }));
}

/** Resident and peak resident bytes of this process (Linux); clearing resets the peak to the current size. */
function memory(clear = false): { rss: number; peak: number } {
  if (clear) writeFileSync('/proc/self/clear_refs', '5');
  const st = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s*(\\d+)`).exec(st)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Drops garbage (results of earlier repetitions) when node runs with --expose-gc. */
const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.();

/**
 * Child mode under the launcher: our distributed op. Rank 0 prints the best seconds and the peak memory of
 * the worst rank, as (its share of the inputs + what the op added at its peak) / its share of inputs and result.
 */
async function ranks(op: string, n: number, b: number): Promise<void> {
  const da = { ...(await import('../src/comm/index.js')), ...(await import('../src/darray/index.js')),
    ...(await import('../src/linalg/index.js')) };
  const comm = await da.init();
  const opts = { dtype: 'float64' as const, blockSize: [b, b] };
  const gemm = op === 'gemm';
  const inputs = gemm
    ? [await da.rand(comm, [n, n], { seed: 1, ...opts }), await da.rand(comm, [n, n], { seed: 2, ...opts })]
    : [await da.fromFunction(comm, [n, n], spd(n), opts)];
  const share = (k: number) => (k * n * n * 8) / comm.size;
  // Warm up on a small matrix first: the addon, OpenBLAS's own work buffers and the JIT are a fixed cost per
  // process, not part of the op's footprint.
  const warm = await da.fromFunction(comm, [2 * b, 2 * b], spd(2 * b), opts);
  if (gemm) await da.matmul(warm, warm);
  else await da.cholesky(warm);
  collectGarbage();
  // Peak memory is taken over the first repetition only: V8 frees dead array buffers lazily, so a second
  // repetition may briefly hold the first one's result as well.
  const base = memory(true).rss;
  let extra = NaN;
  const sec = await best(2, async () => {
    collectGarbage();
    await comm.barrier();
    const t0 = performance.now();
    if (gemm) await da.matmul(inputs[0], inputs[1]);
    else await da.cholesky(inputs[0]);
    await comm.barrier();
    const dt = (performance.now() - t0) / 1e3;
    if (Number.isNaN(extra)) extra = (await comm.allreduce(memory().peak - base, 'max')) as number;
    return dt;
  });
  const peakOverShare = (share(inputs.length) + extra) / share(inputs.length + 1);
  if (comm.rank === 0) console.log(JSON.stringify({ seconds: sec, peakOverShare }));
  await da.finalize();
}

function lastJson(out: string): Record<string, number> | undefined {
  const lines = out.split('\n').map((l) => l.replace(/^\[\d+\]\s*/, '').trim()).filter((l) => l.startsWith('{'));
  return lines.length ? (JSON.parse(lines[lines.length - 1]) as Record<string, number>) : undefined;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutS: number): Record<string, number> | undefined {
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: 'utf8', timeout: timeoutS * 1000, killSignal: 'SIGKILL' });
  const got = lastJson(r.stdout ?? '');
  if (!got) process.stderr.write(`bench: ${cmd} ${args.join(' ')} gave no result (status ${r.status}):\n${(r.stderr ?? '').slice(-2000)}\n`);
  return got;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const ri = args.indexOf('--ranks');
  const rankCounts = ri >= 0 ? args.splice(ri, 2)[1].split(',').map(Number) : [2, 4];
  const sizes = args.length ? args.map(Number) : [2048, 4096];
  // Tile edges (tunable per op): SUMMA likes large tiles, Cholesky's critical path smaller ones.
  const tiles: Record<string, number> = {
    gemm: Number(process.env.BENCH_GEMM_TILE ?? 256), cholesky: Number(process.env.BENCH_CHOL_TILE ?? 256),
  };
  const cores = availableParallelism();
  const env = blasEnv();
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  const self = join(here, 'linalg.ts');
  const dir = mkdtempSync(join(tmpdir(), 'darray-scalapack-'));
  const exe = join(dir, 'scalapack_bench');
  let haveScalapack = true;
  try {
    execFileSync('mpicc', ['-O2', '-o', exe, join(here, 'scalapack_bench.c'), '-lscalapack-openmpi', '-lopenblas', '-lm']);
  } catch (e) {
    haveScalapack = false;
    process.stderr.write(`bench: cannot build the ScaLAPACK reference: ${(e as Error).message}\n`);
  }
  try {
    for (const n of sizes) {
      for (const op of ['gemm', 'cholesky']) {
        const flops = op === 'gemm' ? 2 * n ** 3 : n ** 3 / 3;
        const s = run(tsx, [self, '--child-single', op, String(n)],
          { ...env, OPENBLAS_NUM_THREADS: String(cores), DARRAY_KERNEL_THREADS: String(cores) }, 600);
        const singleGf = s ? flops / s.seconds / 1e9 : NaN;
        for (const p of rankCounts) {
          const blas1 = { ...env, OPENBLAS_NUM_THREADS: String(Math.max(1, Math.floor(cores / p))) };
          let sl = { gflops: NaN, nb: 0 };
          for (const nb of haveScalapack ? [128, 256] : []) {
            const r = run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-x', 'OPENBLAS_NUM_THREADS', '-x',
              'OPENBLAS_CORETYPE', '-n', String(p), exe, op === 'gemm' ? 'gemm' : 'potrf', String(n), String(nb), '2'],
            blas1, 600);
            if (r && !(r.gflops <= sl.gflops)) sl = { gflops: r.gflops, nb };
          }
          const tile = tiles[op];
          const ours = run(tsx, [join(root, 'scripts', 'mpirun.ts'), '--timeout', '600', '-n', String(p), self,
            '--child-ranks', op, String(n), String(tile)], { ...env, NODE_OPTIONS: '--expose-gc' }, 660);
          const gf = ours ? flops / ours.seconds / 1e9 : NaN;
          const round = (x: number) => Math.round(x * 1000) / 1000;
          console.log(JSON.stringify({
            bench: 'linalg', op, n, ranks: p, dtype: 'float64', tile, cores,
            gflops: round(gf), seconds: ours ? round(ours.seconds) : null,
            single_process_gflops: round(singleGf), scalapack_gflops: round(sl.gflops), scalapack_nb: sl.nb,
            ratio_vs_single_process: round(gf / singleGf), ratio_vs_scalapack: round(gf / sl.gflops),
            peak_memory_over_share: ours ? round(ours.peakOverShare) : null,
            openblas_coretype: env.OPENBLAS_CORETYPE ?? null,
          }));
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (mode === '--child-single') await single(process.argv[3], Number(process.argv[4]));
else if (mode === '--child-ranks') await ranks(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
else await main();
