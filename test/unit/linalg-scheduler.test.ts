// Unit tests of the linalg kernel queue: priority order among waiting kernels, the in-flight cap, errors
// reaching the submitter without stalling the queue, and background work that runs only while it is idle.
import assert from 'node:assert/strict';
import * as K from '../../src/kernels/index.js';
import { KernelQueue } from '../../src/linalg/scheduler.js';

const tick = () => new Promise<void>((r) => setTimeout(r, 1));
/** One turn of the event loop (the unit background tasks run in). */
const turn = () => new Promise<void>((r) => setImmediate(r));

describe('linalg KernelQueue', () => {
  it('runs waiting jobs lowest key first, ties in submission order', async () => {
    const q = new KernelQueue(1);
    const order: string[] = [];
    const job = (name: string) => async () => { order.push(name); await tick(); };
    // The first job starts at once; the rest wait and must come out by key.
    const all = [
      q.submit([9], job('first')),
      q.submit([3, 2], job('c')),
      q.submit([1], job('a')),
      q.submit([3, 1], job('b')),
      q.submit([3, 2], job('d')),
      q.submit([2], job('a2')),
    ];
    await Promise.all(all);
    assert.deepEqual(order, ['first', 'a', 'a2', 'b', 'c', 'd']);
  });

  it('puts the kernels of urgent jobs ahead of kernels already waiting in the kernel layer', async () => {
    // Width 3 over a kernel layer that runs one kernel at a time: two jobs' kernels wait there when the
    // urgent job (key [0]) arrives; its kernel must run before theirs.
    const saved = K.kernelConfig().maxInFlight;
    K.configure({ maxInFlight: 1 });
    try {
      await K.urgently(() => K.scal(1, 2, new Float64Array(1))); // urgent calls are in use from here on
      const q = new KernelQueue(3, (key) => key[0] === 0);
      const order: string[] = [];
      const kernel = (name: string) => async () => {
        const x = new Float64Array([1]);
        await K.scal(1, 2, x);
        order.push(name);
      };
      const all = [q.submit([1, 0], kernel('first')), q.submit([1, 1], kernel('second')), q.submit([1, 2], kernel('third'))];
      all.push(q.submit([0], kernel('urgent')));
      await Promise.all(all);
      // The urgent job runs one over the width, so its kernel reaches the kernel layer at once, ahead of the two
      // waiting there (and of the first too, when the layer still holds its freed slot back for urgent calls).
      assert.deepEqual(order.filter((x) => x !== 'first'), ['urgent', 'second', 'third']);
    } finally {
      K.configure({ maxInFlight: saved });
    }
  });

  it('lets a submission override the urgency its key would give', async () => {
    // As above, but the key-[0] job is submitted as not urgent: its kernel waits behind the others.
    const saved = K.kernelConfig().maxInFlight;
    K.configure({ maxInFlight: 1 });
    try {
      await K.urgently(() => K.scal(1, 2, new Float64Array(1)));
      const q = new KernelQueue(3, (key) => key[0] === 0);
      const order: string[] = [];
      const kernel = (name: string) => async () => {
        await K.scal(1, 2, new Float64Array([1]));
        order.push(name);
      };
      const all = [q.submit([1, 0], kernel('first')), q.submit([1, 1], kernel('second')), q.submit([1, 2], kernel('third'))];
      all.push(q.submit([0], kernel('not urgent'), false));
      await Promise.all(all);
      assert.deepEqual(order.slice(1), ['second', 'third', 'not urgent']);
    } finally {
      K.configure({ maxInFlight: saved });
    }
  });

  it('keeps at most width jobs in flight', async () => {
    const q = new KernelQueue(2);
    let live = 0;
    let most = 0;
    const jobs = Array.from({ length: 10 }, (_, i) => q.submit([i % 3], async () => {
      most = Math.max(most, ++live);
      await tick();
      live--;
    }));
    await Promise.all(jobs);
    assert.equal(most, 2);
  });

  it('lets an urgent job run one over the width, never a job that can wait', async () => {
    const q = new KernelQueue(1, (key) => key[0] === 0);
    let live = 0;
    const most: Record<string, number> = {};
    const gates: (() => void)[] = [];
    const job = (name: string) => async () => {
      most[name] = ++live;
      await new Promise<void>((r) => gates.push(r));
      live--;
    };
    const all = [q.submit([1, 0], job('first')), q.submit([1, 1], job('waits')), q.submit([0, 0], job('urgent'))];
    all.push(q.submit([0, 1], job('urgent too')));
    await tick();
    // In flight: the first job and the urgent one (one over the width); the rest wait their turn.
    assert.deepEqual(most, { first: 1, urgent: 2 });
    while (gates.length > 0 || live > 0) {
      gates.shift()?.();
      await tick();
    }
    await Promise.all(all);
    assert.deepEqual(Object.keys(most), ['first', 'urgent', 'urgent too', 'waits']);
  });

  it('rejects the failing job only and keeps running the others', async () => {
    const q = new KernelQueue(1);
    const ran: number[] = [];
    const bad = q.submit([0], async () => { throw new Error('kernel failed'); });
    const sync = q.submit([1], () => { throw new Error('thrown before a promise'); });
    const good = q.submit([2], async () => { ran.push(2); });
    await assert.rejects(bad, /kernel failed/);
    await assert.rejects(sync, /thrown before a promise/);
    await good;
    assert.deepEqual(ran, [2]);
  });

  it('runs background tasks one per event-loop turn, only while no job runs or waits', async () => {
    const q = new KernelQueue(1);
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const job = q.submit([0], async () => { log.push('job start'); await gate; log.push('job end'); });
    q.whenIdle(() => log.push('bg 1'));
    q.whenIdle(() => log.push('bg 2'));
    for (let i = 0; i < 5; i++) await turn();
    assert.deepEqual(log, ['job start'], 'no background task while a job runs');
    release();
    await job;
    // One task per turn: a job submitted in the turn after the first task ran comes before the second task.
    for (let i = 0; i < 10 && !log.includes('bg 1'); i++) await turn();
    assert.deepEqual(log, ['job start', 'job end', 'bg 1']);
    const second = q.submit([0], async () => { log.push('job 2'); await tick(); });
    await second;
    for (let i = 0; i < 5; i++) await turn();
    assert.deepEqual(log, ['job start', 'job end', 'bg 1', 'job 2', 'bg 2']);
  });

  it('runs the background tasks left at once on flushIdle, busy or not', async () => {
    const q = new KernelQueue(1);
    const log: string[] = [];
    const job = q.submit([0], async () => { await tick(); });
    q.whenIdle(() => log.push('bg'));
    q.flushIdle();
    assert.deepEqual(log, ['bg']);
    await job;
    for (let i = 0; i < 3; i++) await turn();
    assert.deepEqual(log, ['bg'], 'a flushed task does not run again');
  });
});
