// Benchmark of distributed GEMM and Cholesky (float64) at 2 and 4 ranks beside two references measured in the
// same run: OpenBLAS/LAPACK on the whole matrix in one process with all cores, and ScaLAPACK under Open MPI.
// Prints one JSON line per (op, n, ranks) with GF/s and ratios: best over BENCH_ROUNDS rounds (default 3), each
// running the references and ours back to back, and the median of the per-round ratios.
// Ops: gemm (into a C made before the timed runs, as in both references); cholesky (returns a new L, A kept);
// cholesky-inplace (`{ overwrite: true }`, like the references, which factor in place).
// Usage: npm run bench:linalg [-- n... --ranks 2,4 --ops gemm,cholesky,cholesky-inplace]
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

/**
 * Repetitions inside each measurement (BENCH_REPS, default 5), the same for ours and both references: on a
 * shared machine whose vCPUs are stolen in bursts (12% steal seen during a run), the best of a few reps is the
 * steadier figure. Five, because a Cholesky of ours reaches its steady state only at the third or fourth: the
 * first ones fill the pools of recycled tile memory (each fresh page faults; at n = 2048 on 2 ranks a new L ran
 * 138, 111, 84, 69, 69 ms), where both references reuse their memory from the first repetition on.
 */
const REPS = Math.max(1, Number(process.env.BENCH_REPS ?? 5));

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
    sec = await best(REPS, async () => {
      const t0 = performance.now();
      await k.gemm(false, false, n, n, n, 1, { data: A, ld: n }, { data: B, ld: n }, 0, { data: C, ld: n });
      return (performance.now() - t0) / 1e3;
    });
  } else {
    const f = spd(n);
    sec = await best(REPS, async () => {
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
  const { trimFreedMemory } = await import('../src/kernels/index.js');
  const comm = await da.init();
  const opts = { dtype: 'float64' as const, blockSize: [b, b] };
  const gemm = op === 'gemm';
  const inputs = gemm
    ? [await da.rand(comm, [n, n], { seed: 1, ...opts }), await da.rand(comm, [n, n], { seed: 2, ...opts })]
    : [await da.fromFunction(comm, [n, n], spd(n), opts)];
  const share = (k: number) => (k * n * n * 8) / comm.size;
  // Warm up on a small matrix first: the addon, OpenBLAS's own work buffers and code pages and the JIT are a
  // fixed cost per process, not part of the op's footprint. Every rank must run its kernels in the warm-up: a
  // Cholesky of 2 x 2 tiles left rank 1 of a 2 x 2 grid without a lower tile, and the 6.7 MiB of library code
  // it then paged in during the measured factorization read as 0.4 of its share at n = 2048.
  const wn = (gemm ? 2 : 2 * Math.ceil(Math.sqrt(comm.size))) * b;
  const warm = await da.fromFunction(comm, [wn, wn], spd(wn), opts);
  if (gemm) await da.matmul(warm, warm);
  else await da.cholesky(warm);
  // The warm-up's recycled buffers are memory the op would otherwise take for itself: dropped, so that what the
  // op keeps for reuse counts as its own (with them, a warm-up of the same tile sizes hid whole panels).
  (await import('../src/kernels/recycle.js')).resetRecycling();
  collectGarbage();
  // Peak memory is taken over the first repetition only: V8 frees dead array buffers lazily, so a second
  // repetition may briefly hold the first one's result as well. In place, each repetition factors a fresh copy of
  // A (made before the clock starts, and before the baseline: it is the operand), and the result is no extra array.
  const inPlace = op === 'cholesky-inplace';
  // GEMM writes into one C made here, as both references do (each multiplies into a C allocated before its
  // timed runs). A new C on every run costs first-touch page faults that neither reference pays: at n = 2048 on 2
  // ranks 4100 per rank, about 80 ms of a 260 ms product on this kind of machine (see docs/design.md). Its tiles
  // take memory during the first run, so C still counts towards that run's peak.
  const out = gemm ? await da.zeros(comm, [n, n], opts) : undefined;
  let base = NaN;
  let extra = NaN;
  const sec = await best(REPS, async () => {
    const A = inPlace ? await inputs[0].copy() : inputs[0];
    collectGarbage();
    if (Number.isNaN(base)) {
      // Likewise the freed memory the C library keeps (DARRAY_MALLOC_KEEP_MB): the op's allocations may reuse it,
      // so counted in the baseline it would hide them (a 4-rank Cholesky in place read 1.00 of its share instead
      // of 1.5). It goes back once V8 has released what the collection found dead, which it does lazily.
      await new Promise((r) => setTimeout(r, 100));
      trimFreedMemory();
      base = memory(true).rss;
    }
    await comm.barrier();
    const t0 = performance.now();
    if (gemm) await da.matmul(A, inputs[1], { out });
    else await da.cholesky(A, { overwrite: inPlace });
    await comm.barrier();
    const dt = (performance.now() - t0) / 1e3;
    if (Number.isNaN(extra)) extra = (await comm.allreduce(memory().peak - base, 'max')) as number;
    return dt;
  });
  const peakOverShare = (share(inputs.length) + extra) / share(inputs.length + (inPlace ? 0 : 1));
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

/** Rounds per (op, n, ranks): each runs every reference and ours once, in alternating order (BENCH_ROUNDS). */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));

const median = (xs: number[]): number => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : NaN;
};
const highest = (xs: number[]): number => {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length ? Math.max(...v) : NaN;
};

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const rankCounts = (flag('--ranks') ?? '2,4').split(',').map(Number);
  const ops = (flag('--ops') ?? 'gemm,cholesky,cholesky-inplace').split(',');
  const sizes = args.length ? args.map(Number) : [2048, 4096];
  const cores = availableParallelism();
  // Tile edges (BENCH_GEMM_TILE, BENCH_CHOL_TILE). A kernel and a message each cost the ranks' JS threads
  // dispatch work and garbage to collect, which on a machine of a core per rank comes out of the BLAS time, and
  // a tile GEMM reads its operands cold: large tiles win, up to where the critical path takes over.
  // Cholesky: 512 (interleaved runs at n = 2048 and 4096 on 2 and 4 ranks, 2 cores: 1.1-1.5x the speed of 256;
  // 1024 leaves too few tile columns), but no fewer than 6 tile columns while each rank has a core of its own:
  // at n = 2048 on 2 ranks, 4 columns of 512 leave the critical path most of the time, and 344 ran 1.16x as
  // fast (296, 7 columns that 2 ranks share unevenly, 0.87x of 344; 256, 0.92x; 416, 0.95x). With 2 ranks per
  // core the kernels' dispatch weighs more: 344 ran 0.91x of 512 at 4 ranks. (Medians of 4-6 alternating rounds.)
  // GEMM: n / 2, from 256 to 1024 (SUMMA's balance does not depend on the tile count; at n = 4096 on 2 ranks
  // 1024 ran 1.25x as fast as 512 and as fast as 2048; at n = 2048, 1024 ran 1.10x as fast as 512 on 2 ranks
  // and 1.25x on 4, medians of 8 and 6 alternating rounds).
  const tileFor = (op: string, n: number, ranks: number): number => {
    const env = op === 'gemm' ? process.env.BENCH_GEMM_TILE : process.env.BENCH_CHOL_TILE;
    if (env) return Number(env);
    if (op === 'gemm') return Math.min(1024, Math.max(256, n / 2));
    return ranks <= cores ? Math.min(512, Math.ceil(n / 6 / 8) * 8) : 512;
  };
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
  const round3 = (x: number) => Math.round(x * 1000) / 1000;
  try {
    for (const n of sizes) {
      for (const op of ops) {
        const flops = op === 'gemm' ? 2 * n ** 3 : n ** 3 / 3;
        for (const p of rankCounts) {
          const blas1 = { ...env, OPENBLAS_NUM_THREADS: String(Math.max(1, Math.floor(cores / p))) };
          const tile = tileFor(op, n, p);
          const single = (): number => {
            const s = run(tsx, [self, '--child-single', op, String(n)],
              { ...env, OPENBLAS_NUM_THREADS: String(cores), DARRAY_KERNEL_THREADS: String(cores) }, 600);
            return s ? flops / s.seconds / 1e9 : NaN;
          };
          const scalapack = (nb: number): number => {
            const r = run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-x', 'OPENBLAS_NUM_THREADS', '-x',
              'OPENBLAS_CORETYPE', '-n', String(p), exe, op === 'gemm' ? 'gemm' : 'potrf', String(n), String(nb),
              String(REPS)],
            blas1, 600);
            return r ? r.gflops : NaN;
          };
          const peaks: number[] = [];
          const ours = (): number => {
            const r = run(tsx, [join(root, 'scripts', 'mpirun.ts'), '--timeout', '600', '-n', String(p), self,
              '--child-ranks', op, String(n), String(tile)], { ...env, NODE_OPTIONS: '--expose-gc' }, 660);
            if (r) peaks.push(r.peakOverShare);
            return r ? flops / r.seconds / 1e9 : NaN;
          };
          // On a shared machine the load drifts: each round measures ours and the references back to back
          // (alternating which goes first), and the ratio taken within a round is steadier than one taken apart.
          const got = { ours: [] as number[], single: [] as number[], sl: new Map<number, number[]>() };
          const vsSingle: number[] = [];
          const vsScalapack: number[] = [];
          for (let r = 0; r < ROUNDS; r++) {
            const runs: (() => void)[] = [
              () => got.ours.push(ours()),
              () => got.single.push(single()),
              ...(haveScalapack ? [128, 256] : []).map((nb) => () => got.sl.set(nb, [...(got.sl.get(nb) ?? []), scalapack(nb)])),
            ];
            for (const f of r % 2 ? runs.reverse() : runs) f();
            const mine = got.ours[r];
            vsSingle.push(mine / got.single[r]);
            vsScalapack.push(mine / highest([...got.sl.values()].map((v) => v[r])));
          }
          let sl = { gflops: NaN, nb: 0 };
          for (const [nb, v] of got.sl) if (!(highest(v) <= sl.gflops)) sl = { gflops: highest(v), nb };
          const gf = highest(got.ours);
          const singleGf = highest(got.single);
          console.log(JSON.stringify({
            bench: 'linalg', op, n, ranks: p, dtype: 'float64', tile, cores, rounds: ROUNDS, reps: REPS,
            gflops: round3(gf), seconds: round3(flops / gf / 1e9), gflops_median: round3(median(got.ours)),
            single_process_gflops: round3(singleGf), scalapack_gflops: round3(sl.gflops), scalapack_nb: sl.nb,
            ratio_vs_single_process: round3(gf / singleGf), ratio_vs_scalapack: round3(gf / sl.gflops),
            median_round_ratio_vs_single_process: round3(median(vsSingle)),
            median_round_ratio_vs_scalapack: round3(median(vsScalapack)),
            peak_memory_over_share: peaks.length ? round3(Math.max(...peaks)) : null,
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
