// Kernel policy: the in-flight cap, the concurrency defaults read from the launcher's environment, and the
// whole-matrix direct calls the benchmarks use as their reference.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as K from '../../src/kernels/index.js';
import * as R from '../../src/kernels/reference.js';
import { Limiter } from '../../src/kernels/limiter.js';
import { coreShare, coresOwned, defaultConcurrency, mallocKeepBytes } from '../../src/kernels/config.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function withEnv<T>(vars: Record<string, string | undefined>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
}

/** Scheduling policy of each thread of this process (Linux /proc: field 41 of stat; 0 normal, 3 batch). */
function threadPolicies(): { main: number; others: number[] } {
  const policy = (tid: string): number => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
  };
  const tids = readdirSync('/proc/self/task');
  return { main: policy(String(process.pid)), others: tids.filter((t) => t !== String(process.pid)).map(policy) };
}

describe('kernel policy', () => {
  it('kernels run on SCHED_BATCH threads (they never preempt the JS thread that queued them); the JS thread stays normal', async function () {
    if (process.platform !== 'linux') this.skip();
    const n = 64;
    const a = new Float64Array(n * n).fill(1);
    const c = new Float64Array(n * n);
    await Promise.all(Array.from({ length: 4 }, () => K.gemm(false, false, n, n, n, 1, { data: a, ld: n }, { data: a, ld: n }, 0, { data: c, ld: n })));
    const { main, others } = threadPolicies();
    assert.equal(main, 0, 'the JS thread keeps SCHED_OTHER');
    assert.ok(others.includes(3), `some pool thread runs SCHED_BATCH (policies: ${others.join(',')})`);
  });

  it('Limiter never runs more than its cap and runs everything in FIFO order', async () => {
    const lim = new Limiter(3);
    let active = 0, peak = 0;
    const order: number[] = [];
    const gates: (() => void)[] = [];
    const jobs = Array.from({ length: 8 }, (_, i) => lim.run(async () => {
      active++, (peak = Math.max(peak, active)), order.push(i);
      await new Promise<void>((r) => gates.push(r));
      active--;
    }));
    while (order.length < 8) {
      await tick();
      gates.shift()?.();
    }
    gates.forEach((g) => g());
    await Promise.all(jobs);
    assert.equal(peak, 3);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('Limiter runs urgent calls ahead of waiting ones, first come first served among urgent ones', async () => {
    const lim = new Limiter(1);
    const order: string[] = [];
    let release!: () => void;
    const running = lim.run(() => new Promise<void>((r) => (release = r)));
    const job = (name: string) => async () => void order.push(name);
    const all = [lim.run(job('a')), lim.run(job('u1'), true), lim.run(job('b')), lim.run(job('u2'), true)];
    await tick();
    release();
    await Promise.all([running, ...all]);
    assert.deepEqual(order, ['u1', 'u2', 'a', 'b']);
  });

  it('discard zeroes the whole pages inside an array and nothing outside it', () => {
    const all = new Float64Array(8192).fill(5);
    const view = all.subarray(100, 100 + 3000); // 24000 bytes: at least four whole 4 KiB pages inside
    K.discard(view);
    assert.ok(all.subarray(0, 100).every((v) => v === 5) && all.subarray(3100).every((v) => v === 5), 'outside kept');
    assert.ok(view.every((v) => v === 5 || v === 0), 'inside: kept or zero');
    assert.ok(view.filter((v) => v === 0).length >= 4 * 512, 'whole pages given back');
    view.fill(7); // the pages fault in afresh when written
    assert.ok(view.every((v) => v === 7));
  });

  it('Limiter holds a freed slot for one turn for urgent calls once they are in use, also from calls arriving then', async () => {
    const lim = new Limiter(1);
    await lim.run(async () => undefined, true); // urgent calls are in use from here on
    const order: string[] = [];
    let release!: () => void;
    const running = lim.run(() => new Promise<void>((r) => (release = r)));
    await tick();
    release();
    await running; // the slot is free now, held back for this turn
    const later = lim.run(async () => void order.push('not urgent'));
    const urgent = lim.run(async () => void order.push('urgent'), true);
    await Promise.all([later, urgent]);
    assert.deepEqual(order, ['urgent', 'not urgent']);
  });

  it('Limiter.exclusive waits for running work and holds off later work', async () => {
    const lim = new Limiter(2);
    const log: string[] = [];
    let release!: () => void;
    const first = lim.run(() => new Promise<void>((r) => (release = () => (log.push('a done'), r()))));
    const ex = lim.exclusive(() => log.push('exclusive'));
    const after = lim.run(async () => void log.push('b'));
    await tick();
    assert.deepEqual(log, []);
    release();
    await Promise.all([first, ex, after]);
    assert.deepEqual(log, ['a done', 'exclusive', 'b']);
  });

  it('a synchronous throw inside a limited job becomes a rejection and frees the slot', async () => {
    const lim = new Limiter(1);
    await assert.rejects(lim.run(() => { throw new RangeError('boom'); }), /boom/);
    assert.equal(await lim.run(async () => 7), 7);
  });

  it('cores owned and in-flight defaults follow the launcher variables', () => {
    withEnv({ OPENBLAS_NUM_THREADS: '3', DARRAY_LOCAL_SIZE: undefined, DARRAY_KERNEL_THREADS: undefined, DARRAY_KERNELS_IN_FLIGHT: undefined }, () => {
      assert.equal(coresOwned(), 3);
      assert.deepEqual(defaultConcurrency(), { maxInFlight: 3, threadsPerCall: 1 });
    });
    withEnv({ OPENBLAS_NUM_THREADS: undefined, DARRAY_LOCAL_SIZE: String(availableParallelism() * 2) }, () => {
      assert.equal(coresOwned(), 1);
    });
    withEnv({ OPENBLAS_NUM_THREADS: '4', DARRAY_KERNEL_THREADS: '2', DARRAY_KERNELS_IN_FLIGHT: undefined }, () => {
      assert.deepEqual(defaultConcurrency(), { maxInFlight: 2, threadsPerCall: 2 });
    });
    withEnv({ OPENBLAS_NUM_THREADS: 'two' }, () => assert.throws(() => coresOwned(), /OPENBLAS_NUM_THREADS must be a positive integer/));
  });

  it('keeps DARRAY_MALLOC_KEEP_MB of freed heap memory for new arrays (default 256 MiB; 0 leaves it to the C library)', () => {
    withEnv({ DARRAY_MALLOC_KEEP_MB: undefined }, () => assert.equal(mallocKeepBytes(), 256 * 2 ** 20));
    withEnv({ DARRAY_MALLOC_KEEP_MB: '0' }, () => assert.equal(mallocKeepBytes(), 0));
    withEnv({ DARRAY_MALLOC_KEEP_MB: '1024' }, () => assert.equal(mallocKeepBytes(), 2 ** 30));
    withEnv({ DARRAY_MALLOC_KEEP_MB: '-1' }, () => assert.throws(() => mallocKeepBytes(), /DARRAY_MALLOC_KEEP_MB must be a non-negative integer/));
    // The addon applies it where the C library is glibc (and says so), and refuses nonsense.
    const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
    assert.equal(K.addon_().keepFreed(256 * 2 ** 20), glibc !== undefined);
    assert.throws(() => K.addon_().keepFreed(-1), /keepFreed: bytes must be a non-negative number/);
  });

  it('DARRAY_BIND=core gives each local rank its own equal contiguous share of the allowed CPUs', () => {
    const env = (bind: string | undefined, rank: number, size: number) => ({ DARRAY_BIND: bind, DARRAY_LOCAL_RANK: String(rank), DARRAY_LOCAL_SIZE: String(size) });
    const cpus = [0, 1, 2, 3, 4, 5, 6, 7];
    assert.deepEqual(coreShare(cpus, env('core', 0, 2)), [0, 1, 2, 3]);
    assert.deepEqual(coreShare(cpus, env('core', 1, 2)), [4, 5, 6, 7]);
    assert.deepEqual(coreShare(cpus, env('core', 2, 3)), [4, 5], 'a remainder stays unused, as Open MPI leaves it');
    assert.deepEqual(coreShare([2, 5, 9], env('core', 1, 3)), [5], 'the ids of the allowed set, not 0..n-1');
    assert.deepEqual(coreShare(cpus, env('core', 0, 1)), cpus);
    assert.equal(coreShare([0, 1], env('core', 3, 4)), undefined, 'more ranks than CPUs: unbound');
    assert.equal(coreShare(cpus, env('none', 0, 2)), undefined);
    assert.equal(coreShare(cpus, env(undefined, 0, 2)), undefined, 'not under darray-run: the launcher in charge binds');
    assert.equal(coreShare(cpus, env('core', 2, 2)), undefined, 'an impossible local rank binds nothing');
    assert.throws(() => coreShare(cpus, env('socket', 0, 2)), /DARRAY_BIND must be 'core' or 'none', got 'socket'/);
  });

  it('never puts more kernels in flight than the libuv pool runs; the rest of the cores go to BLAS threads', () => {
    const base = { DARRAY_LOCAL_SIZE: undefined, DARRAY_KERNEL_THREADS: undefined, DARRAY_KERNELS_IN_FLIGHT: undefined };
    withEnv({ ...base, OPENBLAS_NUM_THREADS: '16', UV_THREADPOOL_SIZE: undefined }, () => {
      assert.deepEqual(defaultConcurrency(), { maxInFlight: 4, threadsPerCall: 4 });
    });
    withEnv({ ...base, OPENBLAS_NUM_THREADS: '16', UV_THREADPOOL_SIZE: '18' }, () => {
      assert.deepEqual(defaultConcurrency(), { maxInFlight: 16, threadsPerCall: 1 });
    });
    withEnv({ ...base, OPENBLAS_NUM_THREADS: '6', UV_THREADPOOL_SIZE: '4' }, () => {
      assert.deepEqual(defaultConcurrency(), { maxInFlight: 4, threadsPerCall: 1 });
    });
    withEnv({ ...base, OPENBLAS_NUM_THREADS: '8', DARRAY_KERNEL_THREADS: '2', UV_THREADPOOL_SIZE: '2' }, () => {
      assert.deepEqual(defaultConcurrency(), { maxInFlight: 2, threadsPerCall: 2 });
    });
  });

  it('configure validates its options', () => {
    assert.throws(() => K.configure({ maxInFlight: 0 }), /configure: maxInFlight must be a positive integer/);
    assert.throws(() => K.configure({ threadsPerCall: 1.5 }), /configure: threadsPerCall/);
    const before = K.kernelConfig();
    K.configure({ maxInFlight: before.maxInFlight + 1 });
    assert.equal(K.kernelConfig().maxInFlight, before.maxInFlight + 1);
    K.configure({ maxInFlight: before.maxInFlight });
  });

  it('directGemm and directPotrf on a whole matrix with several threads match the reference', async () => {
    const n = 96;
    const A = { data: new Float64Array(n * n).map((_, i) => Math.sin(i)), ld: n };
    const B = { data: new Float64Array(n * n).map((_, i) => Math.cos(i)), ld: n };
    const C = { data: new Float64Array(n * n), ld: n };
    const E = { data: new Float64Array(n * n), ld: n };
    await K.directGemm(false, true, n, n, n, 1, A, B, 0, C, { threads: 2 });
    R.gemm(false, true, n, n, n, 1, A, B, 0, E);
    for (let i = 0; i < n * n; i++) assert.ok(Math.abs(C.data[i] - E.data[i]) < 1e-11 * n, `gemm element ${i}`);
    // S = C C^T + n I is SPD
    const S = { data: new Float64Array(n * n), ld: n };
    R.gemm(false, true, n, n, n, 1 / n, C, C, 0, S);
    for (let i = 0; i < n; i++) S.data[i * n + i] += n;
    const F = { data: S.data.slice(), ld: n };
    await K.directPotrf('L', n, S, { threads: 2 });
    R.potrf('L', n, F);
    for (let i = 0; i < n * n; i++) assert.ok(Math.abs(S.data[i] - F.data[i]) < 1e-11 * n, `potrf element ${i}`);
    const bad = { data: new Float64Array([1, 2, 2, 1]), ld: 2 };
    await assert.rejects(K.directPotrf('L', 2, bad), { name: 'NotPositiveDefiniteError', column: 1 });
  });
});
