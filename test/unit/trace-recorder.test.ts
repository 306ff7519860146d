// Unit tests of the recorder: hooks pass straight through when tracing is off, record spans with shapes, flops,
// peers and ordinals when on, bound their memory, and write a part the merge accepts; kernel shapes per op.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { kernelShape } from '../../src/trace/kernels.js';
import { checkPart } from '../../src/trace/merge.js';
import { Recorder, phase, setRecorderForTest, traceCollective, traceKernel, traceRecv, traceSend } from '../../src/trace/recorder.js';

describe('trace recorder', () => {
  let saved: Recorder | undefined;
  before(() => { saved = setRecorderForTest(undefined); });
  after(() => { setRecorderForTest(saved); });

  it('is a pass-through when off: the very promise of the operation, nothing recorded', async () => {
    setRecorderForTest(undefined);
    const p = Promise.resolve(7);
    assert.equal(traceKernel('gemm', [], () => p), p);
    assert.equal(traceSend('send', 1, 0, 0, 1, () => p), p);
    assert.equal(traceCollective('barrier', 0, 2, () => p), p);
    assert.equal(phase('x'), undefined);
  });

  it('records kernels, messages with per-(peer, ctx, tag) ordinals, collectives and phases', async () => {
    const r = new Recorder('/nonexistent');
    setRecorderForTest(r);
    try {
      await traceKernel('gemm', [false, true, 4, 5, 6, 1], async () => undefined);
      await traceSend('send', 3, 0, 7, new Float64Array(10), async () => undefined);
      await traceSend('send', 3, 0, 7, { plain: true }, async () => undefined);
      await traceSend('bcast', 3, 1, 7, 1, async () => undefined);
      const m = await traceRecv('recv', 0, async () => ({ src: 2, tag: 4, bytes: 12, data: 'x' }));
      assert.equal(m.data, 'x');
      await traceRecv('recv', 0, async () => ({ src: 2, tag: 4, bytes: 8 }));
      await traceCollective('allreduce', 0, 4, () => new Promise((res) => setTimeout(res, 5)));
      phase('cholesky', { n: 3 })!();
      await assert.rejects(traceKernel('potrf', [true, 3], async () => { throw new Error('boom'); }), /boom/);
    } finally {
      setRecorderForTest(undefined);
    }
    const ev = r.events.map((e) => [e.c, e.n, e.a]);
    assert.deepEqual(ev, [
      ['kernel', 'gemm', { shape: [4, 5, 6], flops: 240 }],
      ['send', 'send', { peer: 3, ctx: 0, tag: 7, bytes: 80, ord: 0 }],
      ['send', 'send', { peer: 3, ctx: 0, tag: 7, bytes: -1, ord: 1 }],
      ['send', 'bcast', { peer: 3, ctx: 1, tag: 7, bytes: -1, ord: 0 }],
      ['recv', 'recv', { peer: 2, ctx: 0, tag: 4, bytes: 12, ord: 0 }],
      ['recv', 'recv', { peer: 2, ctx: 0, tag: 4, bytes: 8, ord: 1 }],
      ['collective', 'allreduce', { ctx: 0, size: 4 }],
      ['phase', 'cholesky', { n: 3 }],
      ['kernel', 'potrf', { shape: [3], flops: 9 }], // a failed kernel still took its time
    ]);
    for (const e of r.events) assert.ok(e.d >= 0 && e.t >= r.start);
    assert.ok(r.events[6].d >= 4, `the collective lasted ${r.events[6].d} ms`);
  });

  it('counts events beyond its limit instead of keeping them, and writes a part the merge accepts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-rec-'));
    try {
      const r = new Recorder(path.join(dir, 'parts'), 2);
      setRecorderForTest(r);
      for (let i = 0; i < 5; i++) await traceKernel('scal', [3], async () => undefined);
      setRecorderForTest(undefined);
      assert.equal(r.events.length, 2);
      assert.equal(r.dropped, 3);
      const file = r.write();
      assert.equal(path.basename(file), `rank-${r.rank}.json`);
      const p = checkPart(JSON.parse(fs.readFileSync(file, 'utf8')), file);
      assert.equal(p.dropped, 3);
      assert.equal(p.events.length, 2);
      assert.ok(p.end >= p.start && p.timeOrigin > 1e12);
    } finally {
      setRecorderForTest(undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads shapes and flop counts from each kernel\'s argument layout', () => {
    assert.deepEqual(kernelShape('gemm', [false, false, 2, 3, 4, 1]), { shape: [2, 3, 4], flops: 48 });
    assert.deepEqual(kernelShape('syrk', [true, false, 4, 2, 1]), { shape: [4, 2], flops: 40 });
    assert.deepEqual(kernelShape('trsm', [true, true, false, false, 3, 5, 1]), { shape: [3, 5], flops: 45 });
    assert.deepEqual(kernelShape('trsm', [false, true, false, false, 3, 5, 1]), { shape: [3, 5], flops: 75 });
    assert.deepEqual(kernelShape('potrf', [true, 6]), { shape: [6], flops: 72 });
    assert.deepEqual(kernelShape('potrfInv', [true, 6]), { shape: [6], flops: 144 });
    assert.deepEqual(kernelShape('trtri', [true, false, 6]), { shape: [6], flops: 72 });
    assert.deepEqual(kernelShape('copy', [10]), { shape: [10], flops: 0 });
    assert.deepEqual(kernelShape('getrf', [3, 3]).shape, [3, 3]);
    assert.equal(kernelShape('getrf', [3, 3]).flops, 18); // 2/3 n^3
    assert.equal(kernelShape('geqrf', [3, 3]).flops, 36); // 4/3 n^3
    assert.deepEqual(kernelShape('axpy', [10]), { shape: [10], flops: 20 });
    assert.deepEqual(kernelShape('scal', [10]), { shape: [10], flops: 10 });
    assert.ok(Number.isNaN(kernelShape('mystery', []).flops));
  });
});
