// Kernel policy read from the environment: how many cores this rank owns and which, kernels in flight, BLAS
// threads per call, the backend and OpenCL device choice, and a stable POCL kernel cache.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The integer in environment variable `name` (at least `min`), or undefined when it is unset or empty. */
function envInt(name: string, min: 0 | 1): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) {
    throw new RangeError(`kernels: ${name} must be a ${min ? 'positive' : 'non-negative'} integer, got '${raw}'`);
  }
  return v;
}

const positiveInt = (name: string): number | undefined => envInt(name, 1);

/** Cores this rank owns: OPENBLAS_NUM_THREADS from the launcher, else the host's cores split among local ranks. */
export function coresOwned(): number {
  const blas = positiveInt('OPENBLAS_NUM_THREADS');
  if (blas !== undefined) return blas;
  const local = positiveInt('DARRAY_LOCAL_SIZE') ?? 1;
  return Math.max(1, Math.floor(availableParallelism() / local));
}

/**
 * The CPUs this process binds its threads to, from `allowed` (the CPUs it may run on now). Under DARRAY_BIND=core
 * (darray-run's default, as Open MPI binds ranks to cores) local rank r of s takes the r-th of s equal contiguous
 * shares: its kernels and its JavaScript then stay on cores no other rank of the job uses, with their caches,
 * rather than chasing each other across all of them (a 2-rank Cholesky: 1.1x faster bound, median). Undefined,
 * no binding, without DARRAY_BIND=core and when the host has fewer CPUs than local ranks (they share them all).
 */
export function coreShare(allowed: readonly number[], env: NodeJS.ProcessEnv = process.env): number[] | undefined {
  const bind = env.DARRAY_BIND;
  if (bind === undefined || bind === '' || bind === 'none') return undefined;
  if (bind !== 'core') throw new RangeError(`kernels: DARRAY_BIND must be 'core' or 'none', got '${bind}'`);
  const size = Number(env.DARRAY_LOCAL_SIZE ?? 1);
  const rank = Number(env.DARRAY_LOCAL_RANK ?? 0);
  if (!Number.isInteger(size) || !Number.isInteger(rank) || rank < 0 || rank >= size) return undefined;
  const share = Math.floor(allowed.length / size);
  return share < 1 ? undefined : allowed.slice(rank * share, (rank + 1) * share);
}

/**
 * Defaults: one BLAS thread per kernel and as many kernels in flight as owned cores, so that in-flight x threads
 * = cores. Kernels run on libuv's thread pool (UV_THREADPOOL_SIZE, 4 unless set before Node starts; the launcher
 * sizes it to the cores a rank owns), so no more kernels are put in flight than the pool runs at once, and each
 * call gets more BLAS threads instead. DARRAY_KERNEL_THREADS gives each call more threads (and fewer calls in
 * flight); DARRAY_KERNELS_IN_FLIGHT overrides the cap.
 */
export function defaultConcurrency(): { maxInFlight: number; threadsPerCall: number } {
  const cores = coresOwned();
  const pool = positiveInt('UV_THREADPOOL_SIZE') ?? 4;
  const userThreads = positiveInt('DARRAY_KERNEL_THREADS');
  const asked = Math.min(userThreads ?? 1, cores);
  const maxInFlight = positiveInt('DARRAY_KERNELS_IN_FLIGHT') ?? Math.min(Math.max(1, Math.floor(cores / asked)), pool);
  // Cores the pool cannot give a kernel of their own go to each call's BLAS threads, unless the user chose.
  const threadsPerCall = userThreads !== undefined ? asked : Math.max(1, Math.floor(cores / maxInFlight));
  return { maxInFlight, threadsPerCall };
}

export type BackendName = 'cpu' | 'opencl';

export function envBackend(): BackendName {
  const b = process.env.DARRAY_BACKEND ?? 'cpu';
  if (b !== 'cpu' && b !== 'opencl') throw new RangeError(`kernels: DARRAY_BACKEND must be 'cpu' or 'opencl', got '${b}'`);
  return b;
}

/**
 * Bytes of freed heap memory the C library keeps for new arrays instead of giving it back to the OS:
 * DARRAY_MALLOC_KEEP_MB (0: the C library's own policy), default 256 MiB.
 */
export function mallocKeepBytes(): number {
  return (envInt('DARRAY_MALLOC_KEEP_MB', 0) ?? 256) * 2 ** 20;
}

/** Device cache budget in bytes (0: the addon's default of half the device memory). */
export function cacheBudgetBytes(): number {
  const mb = positiveInt('DARRAY_OPENCL_CACHE_MB');
  return mb === undefined ? 0 : mb * 2 ** 20;
}

/**
 * POCL compiles each CLBlast kernel on first use (seconds each); a stable POCL_CACHE_DIR keeps the binaries
 * between runs. Must run before the OpenCL platform is first opened.
 */
export function ensurePoclCache(): void {
  if (process.env.POCL_CACHE_DIR) return;
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const candidates = [join(root, 'node_modules', '.cache', 'pocl'), join(homedir(), '.cache', 'pocl')];
  for (const dir of candidates) {
    try {
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
      process.env.POCL_CACHE_DIR = dir;
      return;
    } catch {
      // not writable: try the next place; POCL falls back to its own default
    }
  }
}

/**
 * Debian's OpenBLAS 0.3.21 does not recognise some virtual CPUs and falls back to its generic Prescott
 * kernels, 4x slower on AVX-512 machines. When the user has not chosen (OPENBLAS_CORETYPE unset), pick the
 * kernel family from the CPU flags. Must run before the addon (and so libopenblas) is loaded.
 */
export function ensureOpenblasCoretype(): void {
  if (process.env.OPENBLAS_CORETYPE || process.platform !== 'linux' || process.arch !== 'x64') return;
  let flags = '';
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
  } catch {
    return; // no /proc: leave OpenBLAS to its own detection
  }
  if (/\bavx512f\b/.test(flags)) process.env.OPENBLAS_CORETYPE = 'SkylakeX';
  else if (/\bavx2\b/.test(flags)) process.env.OPENBLAS_CORETYPE = 'Haswell';
}
