// Kernel benchmark (npm run bench:kernels): JSON lines of GF/s for tile kernels through the async addon path
// beside the same BLAS called directly on the JS thread in the same run, the async per-call overhead, and
// OpenCL figures on whatever device is present. Flags: --sizes 128,256,512,1024 --reps 5 --opencl-sizes 256,512
// --no-opencl.
import { availableParallelism } from 'node:os';
import * as K from '../src/kernels/index.js';
import type { FloatArray, Mat } from '../src/kernels/index.js';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1] : dflt;
};
const sizes = flag('sizes', '128,256,512,1024').split(',').map(Number);
const reps = Number(flag('reps', '5'));
const clSizes = flag('opencl-sizes', '256,512,1024').split(',').map(Number);
const cores = availableParallelism();

type Dtype = 'float64' | 'float32';
const emit = (o: Record<string, unknown>): void => console.log(JSON.stringify({ bench: 'kernels', ...o }));
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

function matrix(dtype: Dtype, n: number, f: (i: number, j: number) => number): Mat {
  const data: FloatArray = dtype === 'float64' ? new Float64Array(n * n) : new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[i * n + j] = f(i, j);
  return { data, ld: n };
}
const rnd = (i: number, j: number): number => (((i * 7919 + j * 104729) % 1000) / 1000) - 0.5;
const spd = (n: number) => (i: number, j: number): number => (i === j ? n : 0) + rnd(Math.min(i, j), Math.max(i, j)) / 4;
const lowerTri = (n: number) => (i: number, j: number): number => (i === j ? 1.5 : j < i ? rnd(i, j) / n : 0);

/** Seconds of the fastest of `reps` runs of fn; setup (untimed) restores inputs before each run. */
async function best(fn: () => unknown, setup: () => void = () => {}): Promise<number> {
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    setup();
    const t0 = process.hrtime.bigint();
    await fn();
    t = Math.min(t, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return t;
}

async function once(fn: () => unknown, setup: () => void): Promise<number> {
  setup();
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** One kernel: addon (async, one BLAS thread, as in the tiled algorithms) against a direct sync BLAS call. */
interface Case {
  kernel: string;
  flops: (n: number) => number;
  inputs: (dtype: Dtype, n: number) => { run: () => Promise<void>; direct: (threads?: number) => Promise<void>; reset: () => void };
}

const cases: Case[] = [
  {
    kernel: 'gemm',
    flops: (n) => 2 * n ** 3,
    inputs: (dt, n) => {
      const A = matrix(dt, n, rnd), B = matrix(dt, n, (i, j) => rnd(j, i)), C = matrix(dt, n, () => 0);
      return {
        run: () => K.gemm(false, false, n, n, n, 1, A, B, 0, C),
        direct: (threads = 1) => K.directGemm(false, false, n, n, n, 1, A, B, 0, C, { threads }),
        reset: () => {},
      };
    },
  },
  {
    kernel: 'syrk',
    flops: (n) => n ** 3,
    inputs: (dt, n) => {
      const A = matrix(dt, n, rnd), C = matrix(dt, n, () => 0);
      return {
        run: () => K.syrk('L', false, n, n, -1, A, 1, C),
        direct: (threads = 1) => K.directSyrk('L', false, n, n, -1, A, 1, C, { threads }),
        reset: () => {},
      };
    },
  },
  {
    kernel: 'trsm',
    flops: (n) => n ** 3,
    inputs: (dt, n) => {
      const L = matrix(dt, n, lowerTri(n)), B0 = matrix(dt, n, rnd), B = matrix(dt, n, rnd);
      return {
        run: () => K.trsm('R', 'L', true, 'N', n, n, 1, L, B),
        direct: (threads = 1) => K.directTrsm('R', 'L', true, 'N', n, n, 1, L, B, { threads }),
        reset: () => B.data.set(B0.data),
      };
    },
  },
  {
    kernel: 'potrf',
    flops: (n) => n ** 3 / 3,
    inputs: (dt, n) => {
      const A0 = matrix(dt, n, spd(n)), A = matrix(dt, n, spd(n));
      return {
        run: () => K.potrf('L', n, A),
        direct: (threads = 1) => K.directPotrf('L', n, A, { threads }),
        reset: () => A.data.set(A0.data),
      };
    },
  },
];

async function cpuTiles(): Promise<void> {
  for (const dtype of ['float64', 'float32'] as Dtype[]) {
    for (const c of cases) {
      for (const n of sizes) {
        const io = c.inputs(dtype, n);
        await io.run(); // warm up both paths
        await io.direct();
        // Alternate the two paths run by run, so that load from other processes hits both alike.
        let tAddon = Infinity, tDirect = Infinity;
        for (let r = 0; r < 2 * reps; r++) {
          tAddon = Math.min(tAddon, await once(io.run, io.reset));
          tDirect = Math.min(tDirect, await once(io.direct, io.reset));
        }
        const gf = c.flops(n) / tAddon / 1e9, ref = c.flops(n) / tDirect / 1e9;
        emit({ kernel: c.kernel, dtype, n, backend: 'cpu', path: 'addon async, 1 BLAS thread', gflops: round(gf),
          ref: 'direct BLAS call, 1 thread, same run', ref_gflops: round(ref), ratio: round(gf / ref, 3) });
      }
    }
  }
}

/** Many tiles in flight (cap = cores) against one whole-problem BLAS call on all cores, same flops. */
async function cpuThroughput(): Promise<void> {
  const nb = 512, p = K.kernelConfig().maxInFlight, n = nb * 2;
  const A = matrix('float64', n, rnd), B = matrix('float64', n, (i, j) => rnd(j, i)), C = matrix('float64', n, () => 0);
  // C = A B as 2x2 tiles of C, each the sum over 2 tile products: 8 tile gemms, `p` at a time.
  const tiled = async (): Promise<void> => {
    const at = (M: Mat, i: number, j: number): Mat => ({ data: M.data, offset: i * nb * n + j * nb, ld: n });
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) {
      jobs.push((async () => {
        for (let l = 0; l < 2; l++) await K.gemm(false, false, nb, nb, nb, 1, at(A, i, l), at(B, l, j), l ? 1 : 0, at(C, i, j));
      })());
    }
    await Promise.all(jobs);
  };
  const whole = () => K.directGemm(false, false, n, n, n, 1, A, B, 0, C, { threads: cores });
  await tiled();
  await whole();
  const t1 = Math.min(await best(tiled), await best(tiled));
  const t2 = Math.min(await best(whole), await best(whole));
  const f = 2 * n ** 3 / 1e9;
  emit({ kernel: 'gemm', dtype: 'float64', n, tile: nb, backend: 'cpu', path: `4 tile chains in flight, cap ${p}`,
    gflops: round(f / t1), ref: `direct BLAS on the whole matrix, ${cores} threads`, ref_gflops: round(f / t2),
    ratio: round(t2 / t1, 3) });
}

/** Cost of the async path itself: scal on one element through the addon vs the sync entry. */
async function overhead(): Promise<void> {
  const x = new Float64Array(1).fill(1);
  const calls = 2000;
  const asyncPath = async (): Promise<void> => {
    for (let i = 0; i < calls; i++) await K.scal(1, 1, x);
  };
  await asyncPath();
  const t = await best(asyncPath);
  emit({ kernel: 'scal', dtype: 'float64', n: 1, backend: 'cpu', path: 'addon async call, awaited one at a time',
    us_per_call: round((t / calls) * 1e6, 1), calls });
}

/**
 * OpenCL: each kernel timed twice after a warm-up: once with upload and write-back included (inputs released from
 * the device before each run, output written back after it) and once resident (inputs already on the device, the
 * output left there, as between the steps of a factorization). References: the same kernel through CPU BLAS
 * called directly in the same run, on 1 thread and on all cores.
 */
async function opencl(): Promise<void> {
  try {
    K.setBackend('opencl');
  } catch (e) {
    emit({ backend: 'opencl', skipped: (e as Error).message });
    return;
  }
  const dev = K.deviceInfo()!;
  emit({ backend: 'opencl', device: dev.name, platform: dev.platform, gpu: dev.gpu, fp64: dev.fp64 });
  const dtypes: Dtype[] = dev.fp64 ? ['float32', 'float64'] : ['float32'];
  for (const dtype of dtypes) {
    for (const c of cases.filter((x) => x.kernel !== 'potrf')) {
      for (const n of clSizes) {
        const io = c.inputs(dtype, n);
        const roundTrip = async (): Promise<void> => {
          await io.run();
          await K.syncAll();
        };
        const reset = (): void => {
          io.reset();
          K.releaseAll(); // inputs were rewritten on the host
        };
        reset();
        await roundTrip(); // first use compiles CLBlast kernels (POCL: seconds)
        const tTrip = await best(roundTrip, reset);
        reset();
        await io.run(); // uploads the inputs; the timed runs below find them resident
        const tResident = await best(io.run);
        K.releaseAll();
        K.setBackend('cpu');
        const tRef = await best(() => io.direct(), io.reset);
        const tAll = await best(() => io.direct(cores), io.reset);
        K.setBackend('opencl');
        const gf = (t: number): number => round(c.flops(n) / t / 1e9);
        emit({ kernel: c.kernel, dtype, n, backend: 'opencl', device: dev.name, gflops_resident: gf(tResident),
          gflops: gf(tTrip), path: 'CLBlast; gflops incl. upload and write-back, gflops_resident with tiles on the device',
          ref: 'direct CPU BLAS, same run', ref_gflops: gf(tRef), ref_all_cores_gflops: gf(tAll), cores,
          ratio: round(tRef / tTrip, 3), ratio_resident_all_cores: round(tAll / tResident, 3) });
      }
    }
  }
  K.releaseAll();
  K.setBackend('cpu');
}

emit({ config: K.kernelConfig(), cores, sizes, reps });
await cpuTiles();
await cpuThroughput();
await overhead();
if (!argv.includes('--no-opencl')) await opencl();
