// TypeScript face of the native tile kernels (build/Release/darray_native.node; this is the only file that loads
// it). Checks arguments, caps kernels in flight, picks the backend and maps native failures to darray errors.
import { createRequire } from 'node:module';
import { BackendError, NotPositiveDefiniteError, SingularMatrixError } from '../errors.js';
import { Limiter } from './limiter.js';
import { recycle } from './recycle.js';
import { traceKernel } from '../trace/recorder.js';
import {
  type BackendName, cacheBudgetBytes, coreShare, defaultConcurrency, ensureOpenblasCoretype, ensurePoclCache, envBackend,
  mallocKeepBytes,
} from './config.js';
import {
  type FloatArray,
  type Mat,
  checkArray,
  checkBool,
  checkDim,
  checkFlag,
  checkMat,
  checkSameDtype,
  checkScalar,
  dtypeOf,
} from './validate.js';

export type { FloatArray, Mat } from './validate.js';
export type { BackendName } from './config.js';

type Arg = boolean | number | string | FloatArray | Int32Array | FloatArray[] | number[];
type NativeFn = (...args: Arg[]) => unknown;
type Native = Record<string, NativeFn>;

/** The OpenCL device the backend runs on, as the addon reports it. */
export interface DeviceInfo {
  platform: string;
  name: string;
  gpu: boolean;
  fp64: boolean;
  globalMem: number;
  cacheBudget: number;
}

let addon: Native | undefined;
let backend: BackendName = envBackend();
let device: DeviceInfo | undefined;
const concurrency = defaultConcurrency();
const limiter = new Limiter(concurrency.maxInFlight);
// Arrays with device copies: held here so their memory (the cache key) cannot be reused until release().
const resident = new Set<FloatArray>();

function native(): Native {
  if (addon) return addon;
  const path = new URL('../../build/Release/darray_native.node', import.meta.url).pathname;
  ensureOpenblasCoretype();
  try {
    addon = createRequire(import.meta.url)(path) as Native;
  } catch (e) {
    throw new BackendError(`native addon not loadable from ${path} (run 'npm run build'): ${(e as Error).message}`, {
      op: 'kernels',
    });
  }
  addon.setThreads(concurrency.threadsPerCall);
  bindOwnCores(addon);
  // Freed tile memory stays for the next tiles: fresh pages cost a fault each (12 us on some VMs, docs/design.md).
  const keep = mallocKeepBytes();
  if (keep > 0) addon.keepFreed(keep);
  return addon;
}

/**
 * Binds every thread of this process to the cores it owns (coreShare), once, when the addon loads: during
 * `init` in a job of several ranks on one host (its shared-memory probe), before the first kernel otherwise.
 * Threads started later inherit the binding. A system that refuses (a container's seccomp) gets a warning.
 */
function bindOwnCores(a: Native): void {
  const cpus = coreShare(a.cpusAllowed() as number[]);
  if (!cpus) return;
  try {
    a.bindThreads(cpus);
  } catch (e) {
    process.stderr.write(`darray: warning: rank ${process.env.DARRAY_RANK ?? 0}: cannot bind to cores ${cpus.join(',')}` +
      ` (DARRAY_BIND=core): ${(e as Error).message}; running unbound\n`);
  }
}

/** @internal The loaded addon, for its other TypeScript faces in this directory (shm.ts, combine.ts, strided.ts). */
export function addon_(): Native {
  return native();
}

function openDevice(): DeviceInfo {
  if (device) return device;
  ensurePoclCache();
  const spec = process.env.DARRAY_OPENCL_DEVICE ?? '';
  try {
    device = native().clInit(spec, cacheBudgetBytes()) as DeviceInfo;
  } catch (e) {
    throw new BackendError(`cannot open an OpenCL device: ${(e as Error).message}`, { op: 'setBackend' });
  }
  return device;
}

function mapError(op: string, e: unknown): unknown {
  const err = e as { code?: string; column?: number; message?: string };
  if (err?.code === 'NOT_POSITIVE_DEFINITE') return new NotPositiveDefiniteError(err.column ?? -1, { op });
  if (err?.code === 'SINGULAR') return new SingularMatrixError(err.column ?? -1, { op });
  if (err?.code === 'BACKEND') return new BackendError(err.message ?? 'OpenCL failure', { op });
  return e;
}

/**
 * Runs one kernel: on the device when the backend is opencl and the kernel has a device version (`onDevice`),
 * else on the host; `name` is the addon entry (`gemm` -> `clGemm` on the device).
 */
async function launch(op: string, name: string, args: Arg[], operands: FloatArray[], onDevice: boolean): Promise<void> {
  const n = native();
  const dev = backend === 'opencl';
  if (dev) {
    const d = openDevice();
    if (onDevice && dtypeOf(operands[0]) === 'float64' && !d.fp64) {
      throw new BackendError(`float64 needs cl_khr_fp64, which OpenCL device '${d.name}' lacks; use float32 or the cpu backend`, { op });
    }
  }
  const entry = dev ? `cl${name[0].toUpperCase()}${name.slice(1)}` : name;
  try {
    // A span when tracing; an urgent call (see `urgently`) waits ahead of the others.
    await limiter.run(() => traceKernel(name, args, () => n[entry](...args) as Promise<void>), urgentCalls > 0);
  } catch (e) {
    throw mapError(op, e);
  } finally {
    // Host kernels on the opencl backend dropped the device copy of what they wrote.
    if (dev) for (const a of operands) onDevice ? resident.add(a) : resident.delete(a);
  }
}

let urgentCalls = 0;

/**
 * Runs `start`, and every kernel it calls before its first await waits for a free slot ahead of the kernels that
 * were not called so: a scheduler's critical-path kernel then never queues behind work that can wait.
 */
export function urgently<T>(start: () => T): T {
  urgentCalls++;
  try {
    return start();
  } finally {
    urgentCalls--;
  }
}

const mat = (M: Mat): Arg[] => [M.data, M.offset ?? 0, M.ld];

/** C(m x n) = alpha op(A) op(B) + beta C. */
export async function gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  A: Mat, B: Mat, beta: number, C: Mat): Promise<void> {
  const op = 'gemm';
  checkBool(op, 'transA', transA), checkBool(op, 'transB', transB);
  checkDim(op, 'm', m), checkDim(op, 'n', n), checkDim(op, 'k', k);
  checkScalar(op, 'alpha', alpha), checkScalar(op, 'beta', beta);
  checkMat(op, 'A', A, transA ? k : m, transA ? m : k);
  checkMat(op, 'B', B, transB ? n : k, transB ? k : n);
  checkMat(op, 'C', C, m, n);
  checkSameDtype(op, { A: A.data, B: B.data, C: C.data });
  await launch(op, 'gemm', [transA, transB, m, n, k, alpha, ...mat(A), ...mat(B), beta, ...mat(C)],
    [C.data, A.data, B.data], true);
}

/** C = alpha A A^T + beta C (trans: alpha A^T A + beta C); only the uplo triangle of C is touched. */
export async function syrk(uplo: 'L' | 'U', trans: boolean, n: number, k: number, alpha: number, A: Mat,
  beta: number, C: Mat): Promise<void> {
  const op = 'syrk';
  checkFlag(op, 'uplo', uplo, ['L', 'U'] as const), checkBool(op, 'trans', trans);
  checkDim(op, 'n', n), checkDim(op, 'k', k);
  checkScalar(op, 'alpha', alpha), checkScalar(op, 'beta', beta);
  checkMat(op, 'A', A, trans ? k : n, trans ? n : k);
  checkMat(op, 'C', C, n, n);
  checkSameDtype(op, { A: A.data, C: C.data });
  await launch(op, 'syrk', [uplo === 'L', trans, n, k, alpha, ...mat(A), beta, ...mat(C)], [C.data, A.data], true);
}

function triangular(op: 'trsm' | 'trmm', side: 'L' | 'R', uplo: 'L' | 'U', transA: boolean, diag: 'N' | 'U',
  m: number, n: number, alpha: number, A: Mat, B: Mat): Promise<void> {
  checkFlag(op, 'side', side, ['L', 'R'] as const), checkFlag(op, 'uplo', uplo, ['L', 'U'] as const);
  checkBool(op, 'transA', transA), checkFlag(op, 'diag', diag, ['N', 'U'] as const);
  checkDim(op, 'm', m), checkDim(op, 'n', n), checkScalar(op, 'alpha', alpha);
  const ka = side === 'L' ? m : n;
  checkMat(op, 'A', A, ka, ka);
  checkMat(op, 'B', B, m, n);
  checkSameDtype(op, { A: A.data, B: B.data });
  return launch(op, op, [side === 'L', uplo === 'L', transA, diag === 'U', m, n, alpha, ...mat(A), ...mat(B)],
    [B.data, A.data], true);
}

/** B(m x n) <- alpha op(A)^-1 B (side L) or alpha B op(A)^-1 (side R); A triangular (uplo), unit diagonal if diag U. */
export async function trsm(side: 'L' | 'R', uplo: 'L' | 'U', transA: boolean, diag: 'N' | 'U', m: number, n: number,
  alpha: number, A: Mat, B: Mat): Promise<void> {
  await triangular('trsm', side, uplo, transA, diag, m, n, alpha, A, B);
}

/** B(m x n) <- alpha op(A) B (side L) or alpha B op(A) (side R); A triangular. */
export async function trmm(side: 'L' | 'R', uplo: 'L' | 'U', transA: boolean, diag: 'N' | 'U', m: number, n: number,
  alpha: number, A: Mat, B: Mat): Promise<void> {
  await triangular('trmm', side, uplo, transA, diag, m, n, alpha, A, B);
}

/**
 * Cholesky of the n x n tile A in place: A = L L^T (uplo L, lower triangle written) or U^T U (uplo U); the other
 * triangle is untouched. Rejects with NotPositiveDefiniteError(column local to the tile). On the opencl backend
 * the tile is factored on the host after its device copy is brought home (as MAGMA does).
 */
export async function potrf(uplo: 'L' | 'U', n: number, A: Mat): Promise<void> {
  const op = 'potrf';
  checkFlag(op, 'uplo', uplo, ['L', 'U'] as const), checkDim(op, 'n', n);
  checkMat(op, 'A', A, n, n);
  await launch(op, 'potrf', [uplo === 'L', n, ...mat(A)], [A.data], false);
}

/**
 * The diagonal step of a tiled Cholesky in one call: A = L (potrf) and X = L^-1, both with the other triangle
 * zero. Host only. NotPositiveDefiniteError as potrf's (X's contents are then unspecified).
 */
export async function potrfInv(uplo: 'L' | 'U', n: number, A: Mat, X: Mat): Promise<void> {
  const op = 'potrfInv';
  checkFlag(op, 'uplo', uplo, ['L', 'U'] as const), checkDim(op, 'n', n);
  checkMat(op, 'A', A, n, n);
  checkMat(op, 'X', X, n, n);
  checkSameDtype(op, { A: A.data, X: X.data });
  await launch(op, 'potrfInv', [uplo === 'L', n, ...mat(A), ...mat(X)], [A.data, X.data], false);
}

/**
 * A = A^-1 in place for a triangular n x n A (the other triangle is not touched), through LAPACK's blocked trtri,
 * which runs mostly as TRMM. Host only (on the opencl backend the device copy comes home first).
 * SingularMatrixError names the first exactly zero diagonal entry.
 */
export async function trtri(uplo: 'L' | 'U', diag: 'N' | 'U', n: number, A: Mat): Promise<void> {
  const op = 'trtri';
  checkFlag(op, 'uplo', uplo, ['L', 'U'] as const), checkFlag(op, 'diag', diag, ['N', 'U'] as const);
  checkDim(op, 'n', n);
  checkMat(op, 'A', A, n, n);
  await launch(op, 'trtri', [uplo === 'L', diag === 'U', n, ...mat(A)], [A.data], false);
}

/**
 * LU with partial pivoting in place: P A = L U, L unit lower. ipiv (min(m, n) entries) is 0-based: row i was
 * swapped with row ipiv[i]. SingularMatrixError on an exact zero pivot (the factorization is still complete).
 */
export async function getrf(m: number, n: number, A: Mat, ipiv: Int32Array): Promise<void> {
  const op = 'getrf';
  checkDim(op, 'm', m), checkDim(op, 'n', n);
  checkMat(op, 'A', A, m, n);
  if (!(ipiv instanceof Int32Array)) throw new TypeError(`${op}: ipiv must be an Int32Array`);
  if (ipiv.length < Math.min(m, n)) throw new RangeError(`${op}: ipiv has ${ipiv.length} entries, needs min(m, n) = ${Math.min(m, n)}`);
  await launch(op, 'getrf', [m, n, ...mat(A), ipiv], [A.data], false);
}

/** Householder QR in place (LAPACK layout: R on and above the diagonal, reflectors below, scalars in tau). */
export async function geqrf(m: number, n: number, A: Mat, tau: FloatArray): Promise<void> {
  const op = 'geqrf';
  checkDim(op, 'm', m), checkDim(op, 'n', n);
  checkMat(op, 'A', A, m, n);
  checkArray(op, 'tau', tau, Math.min(m, n));
  checkSameDtype(op, { A: A.data, tau });
  await launch(op, 'geqrf', [m, n, ...mat(A), tau], [A.data, tau], false);
}

/** y[0..n) += alpha x[0..n). */
export async function axpy(n: number, alpha: number, x: FloatArray, y: FloatArray): Promise<void> {
  const op = 'axpy';
  checkDim(op, 'n', n), checkScalar(op, 'alpha', alpha);
  checkArray(op, 'x', x, n), checkArray(op, 'y', y, n);
  checkSameDtype(op, { x, y });
  await launch(op, 'axpy', [n, alpha, x, y], [y, x], true);
}

/** y = x (n elements) on the host, off the JS thread: a large copy that would otherwise hold up the event loop. */
export async function copy(n: number, x: FloatArray, y: FloatArray): Promise<void> {
  const op = 'copy';
  checkDim(op, 'n', n);
  checkArray(op, 'x', x, n), checkArray(op, 'y', y, n);
  checkSameDtype(op, { x, y });
  await launch(op, 'copy', [n, x, y], [y, x], false);
}

/** x[0..n) *= alpha. */
export async function scal(n: number, alpha: number, x: FloatArray): Promise<void> {
  const op = 'scal';
  checkDim(op, 'n', n), checkScalar(op, 'alpha', alpha), checkArray(op, 'x', x, n);
  await launch(op, 'scal', [n, alpha, x], [x], true);
}

/**
 * Picks the kernel backend for this process; 'opencl' opens the device now (BackendError if there is none).
 * Switching to 'cpu' does not write device copies back: call sync() first when kernels left results there.
 */
export function setBackend(name: 'cpu' | 'opencl'): void {
  checkFlag('setBackend', 'name', name, ['cpu', 'opencl'] as const);
  if (name === 'opencl') openDevice();
  backend = name;
}

export function getBackend(): 'cpu' | 'opencl' {
  return backend;
}

/** Makes host copies of these arrays current again: their dirty device copies are written back. */
export async function sync(...arrays: FloatArray[]): Promise<void> {
  if (!device || arrays.length === 0) return; // an empty list is not "everything": that is syncAll()
  await clSync(arrays);
}

/** Writes every dirty device copy back to its host array. */
export async function syncAll(): Promise<void> {
  if (device) await clSync([]);
}

async function clSync(arrays: FloatArray[]): Promise<void> {
  try {
    await (native().clSync(arrays) as Promise<void>);
  } catch (e) {
    throw mapError('sync', e);
  }
}

/**
 * Forgets the device copies of these arrays without writing them back: after host-side writes, and at the end.
 * Until then the arrays stay referenced here, since their address is the cache key.
 */
export function release(...arrays: FloatArray[]): void {
  if (!device || arrays.length === 0) return; // an empty list is not "everything": that is releaseAll()
  native().clRelease(arrays);
  for (const a of arrays) resident.delete(a);
}

/**
 * For arrays nothing will read again (a received tile after its last use): drops their device copies, and keeps
 * their memory for the next array of the same size when it came from `allocateRecyclable` (`recycle`: the array
 * is detached and reads as empty afterwards), else gives their host pages back to the OS now (they read as zero
 * afterwards). Either way the memory is free at once, not when V8 collects the array, which happens only after
 * tens of MiB of such garbage.
 */
export function discard(...arrays: FloatArray[]): void {
  release(...arrays);
  for (const a of arrays) if (!recycle(a)) native().discard(a);
}

/**
 * Gives the freed memory that the C library keeps for new arrays (DARRAY_MALLOC_KEEP_MB) back to the OS now: for
 * measuring what an operation itself takes, apart from what earlier ones left free.
 */
export function trimFreedMemory(): void {
  native().trimFreed();
}

/** Forgets every device copy without writing it back. */
export function releaseAll(): void {
  if (!device) return;
  native().clRelease([]);
  resident.clear();
}

/** The open OpenCL device, or undefined while the opencl backend has not been used. */
export function deviceInfo(): DeviceInfo | undefined {
  return device;
}

/** Bytes and tiles held in the device cache. */
export function deviceCacheStats(): { bytes: number; tiles: number } {
  return device ? (native().clCacheStats() as { bytes: number; tiles: number }) : { bytes: 0, tiles: 0 };
}

/** Overrides the in-flight cap and the BLAS threads each kernel uses (defaults from the environment). */
export function configure(opts: { maxInFlight?: number; threadsPerCall?: number }): void {
  if (opts.maxInFlight !== undefined) {
    if (!Number.isInteger(opts.maxInFlight) || opts.maxInFlight < 1) throw new RangeError('configure: maxInFlight must be a positive integer');
    concurrency.maxInFlight = opts.maxInFlight;
    limiter.setLimit(opts.maxInFlight);
  }
  if (opts.threadsPerCall !== undefined) {
    if (!Number.isInteger(opts.threadsPerCall) || opts.threadsPerCall < 1) throw new RangeError('configure: threadsPerCall must be a positive integer');
    concurrency.threadsPerCall = opts.threadsPerCall;
    native().setThreads(opts.threadsPerCall);
  }
}

export function kernelConfig(): { maxInFlight: number; threadsPerCall: number; backend: BackendName } {
  return { ...concurrency, backend };
}

/**
 * Whole-problem calls straight into BLAS/LAPACK on the JS thread with `threads` BLAS threads (default: all
 * cores), while no tile kernel runs: the single-process reference for benchmarks. Not for production paths.
 */
async function direct(op: string, threads: number | undefined, call: (n: Native) => void): Promise<void> {
  const n = native();
  const t = threads ?? (await import('node:os')).availableParallelism();
  if (!Number.isInteger(t) || t < 1) throw new RangeError(`${op}: threads must be a positive integer`);
  await limiter.exclusive(() => {
    n.setThreads(t);
    try {
      call(n);
    } catch (e) {
      throw mapError(op, e);
    } finally {
      n.setThreads(concurrency.threadsPerCall);
    }
  });
}

export async function directGemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, A: Mat,
  B: Mat, beta: number, C: Mat, opts: { threads?: number } = {}): Promise<void> {
  checkMat('directGemm', 'A', A, transA ? k : m, transA ? m : k);
  checkMat('directGemm', 'B', B, transB ? n : k, transB ? k : n);
  checkMat('directGemm', 'C', C, m, n);
  checkSameDtype('directGemm', { A: A.data, B: B.data, C: C.data });
  await direct('gemm', opts.threads, (nt) => nt.gemmSync(transA, transB, m, n, k, alpha, ...mat(A), ...mat(B), beta, ...mat(C)));
}

export async function directSyrk(uplo: 'L' | 'U', trans: boolean, n: number, k: number, alpha: number, A: Mat, beta: number,
  C: Mat, opts: { threads?: number } = {}): Promise<void> {
  checkMat('directSyrk', 'A', A, trans ? k : n, trans ? n : k);
  checkMat('directSyrk', 'C', C, n, n);
  checkSameDtype('directSyrk', { A: A.data, C: C.data });
  await direct('syrk', opts.threads, (nt) => nt.syrkSync(uplo === 'L', trans, n, k, alpha, ...mat(A), beta, ...mat(C)));
}

export async function directTrsm(side: 'L' | 'R', uplo: 'L' | 'U', transA: boolean, diag: 'N' | 'U', m: number, n: number,
  alpha: number, A: Mat, B: Mat, opts: { threads?: number } = {}): Promise<void> {
  const ka = side === 'L' ? m : n;
  checkMat('directTrsm', 'A', A, ka, ka);
  checkMat('directTrsm', 'B', B, m, n);
  checkSameDtype('directTrsm', { A: A.data, B: B.data });
  await direct('trsm', opts.threads, (nt) =>
    nt.trsmSync(side === 'L', uplo === 'L', transA, diag === 'U', m, n, alpha, ...mat(A), ...mat(B)));
}

export async function directPotrf(uplo: 'L' | 'U', n: number, A: Mat, opts: { threads?: number } = {}): Promise<void> {
  checkMat('directPotrf', 'A', A, n, n);
  await direct('potrf', opts.threads, (nt) => nt.potrfSync(uplo === 'L', n, ...mat(A)));
}
