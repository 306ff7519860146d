// Unit tests of the merge on hand-made parts: clocks moved onto rank 0's, sends paired with receives (wildcards,
// unknown sizes, unpaired ones counted), lanes that never overlap, and clear errors for bad parts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChromeEvent, PartEvent, TracePart } from '../../src/trace/format.js';
import { checkPart, mergeParts, readParts } from '../../src/trace/merge.js';

function part(rank: number, timeOrigin: number, events: PartEvent[], clock: TracePart['clock'] = []): TracePart {
  return { format: 'darray-trace-part', version: 1, rank, size: 2, host: 'h', pid: 100 + rank, timeOrigin, start: 0, end: 100, clock, dropped: 0, events };
}
const X = (t: ChromeEvent[], pid: number, cat?: string) => t.filter((e) => e.ph === 'X' && e.pid === pid && (!cat || e.cat === cat));

describe('trace merge', () => {
  it('moves every rank onto rank 0\'s clock with the measured offsets, drift included', () => {
    // Rank 1's clock reads 5000 ms more than rank 0's at its start and 5001 ms more at its end (drift).
    const p0 = part(0, 1_000_000, [{ c: 'kernel', n: 'gemm', t: 10, d: 5, a: { shape: [2, 2, 2], flops: 16 } }]);
    const p1 = part(1, 1_005_000, [{ c: 'kernel', n: 'potrf', t: 10, d: 5 }, { c: 'kernel', n: 'potrf', t: 90, d: 10 }],
      [{ at: 0, offset: 5000, rtt: 0.1 }, { at: 100, offset: 5001, rtt: 0.2 }]);
    const m = mergeParts([p1, p0]);
    const [a] = X(m.traceEvents, 0);
    const [b, c] = X(m.traceEvents, 1);
    assert.equal(a.ts, 10_000);
    assert.equal(b.ts, 10_000 - 100); // offset at t=10 is 5000.1 ms
    assert.equal(c.ts, 90_000 - 900);
    assert.equal(c.dur, 10_000 - 100); // the end is corrected by the offset at t=100
    const d = m.otherData.darray;
    assert.deepEqual(d.ranks.map((r) => r.rank), [0, 1]);
    assert.deepEqual(d.ranks[1].offsetUs, [5_000_000, 5_001_000]);
    assert.equal(d.ranks[1].rttUs, 100);
    assert.equal(d.ranks[0].rttUs, null);
    assert.deepEqual(d.missing, []);
    assert.deepEqual(mergeParts([part(1, 0, [])]).otherData.darray.missing, [0]);
  });

  it('pairs the k-th send A->B on (ctx, tag) with the k-th receive from A, fills unknown sizes, counts the unpaired', () => {
    const s = (t: number, tag: number, ord: number, bytes: number): PartEvent => ({ c: 'send', n: 'send', t, d: 1, a: { peer: 1, ctx: 0, tag, bytes, ord } });
    const r = (t: number, tag: number, ord: number, bytes: number): PartEvent => ({ c: 'recv', n: 'recv', t, d: 2, a: { peer: 0, ctx: 0, tag, bytes, ord } });
    const p0 = part(0, 0, [s(1, 5, 0, 800), s(2, 5, 1, -1), s(3, 9, 0, 8), s(4, 9, 1, 8)]);
    const p1 = part(1, 0, [r(1, 5, 0, 800), r(5, 5, 1, 64), r(2, 9, 0, 8), { c: 'recv', n: 'recv', t: 7, d: 1, a: { peer: 0, ctx: 2, tag: 9, bytes: 1, ord: 0 } }]);
    const m = mergeParts([p0, p1]);
    const sends = X(m.traceEvents, 0, 'send');
    const recvs = X(m.traceEvents, 1, 'recv');
    assert.equal(sends[0].args!.flow, recvs[0].args!.flow);
    assert.equal(sends[1].args!.flow, recvs[1].args!.flow);
    assert.equal(sends[1].args!.bytes, 64); // msgpack payload: its size as received
    assert.equal(sends[2].args!.flow, recvs[2].args!.flow);
    assert.equal(sends[3].args!.flow, undefined); // tag 9's second send was never received
    assert.equal(recvs[3].args!.flow, undefined); // another context: not a match for it
    const sum = m.otherData.darray.summary;
    assert.deepEqual([sum.flows, sum.unmatchedSends, sum.unmatchedRecvs], [3, 1, 1]);
    const flows = m.traceEvents.filter((e) => e.ph === 's' || e.ph === 'f');
    assert.equal(flows.length, 6);
    for (const f of flows) {
      const owner = (f.ph === 's' ? sends : recvs).find((e) => e.args!.flow === f.id)!;
      assert.equal(f.tid, owner.tid);
      assert.ok(f.ts! >= owner.ts! && f.ts! <= owner.ts! + owner.dur!, 'flow end inside its slice');
    }
  });

  it('spreads overlapping spans of a category over lanes that never overlap, named in metadata', () => {
    const k = (t: number, d: number): PartEvent => ({ c: 'kernel', n: 'gemm', t, d });
    const m = mergeParts([part(0, 0, [k(0, 10), k(2, 3), k(5, 10), k(10, 1), k(20, 1)])]);
    const tids = X(m.traceEvents, 0).map((e) => e.tid);
    assert.deepEqual(tids, [1000, 1001, 1001, 1000, 1000]);
    const names = m.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, e.args!.name]);
    assert.deepEqual(names, [[1000, 'compute'], [1001, 'compute 2']]);
  });

  it('refuses malformed parts and directories with a message that says what is wrong', () => {
    assert.throws(() => checkPart({ format: 'x' }, 'f.json'), /f\.json is not a darray trace part: format/);
    assert.throws(() => checkPart({ ...part(0, 0, []), rank: 3 }, 'f'), /rank 3 of size 2/);
    assert.throws(() => checkPart({ ...part(0, 0, []), events: [{ c: 'nap', n: 'x', t: 0, d: 0 }] }, 'f'), /malformed event/);
    assert.throws(() => mergeParts([part(0, 0, []), part(0, 0, [])]), /two parts for rank 0/);
    assert.throws(() => mergeParts([]), /nothing to merge/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trace-merge-'));
    try {
      assert.throws(() => readParts(dir), /no rank-<r>\.json parts/);
      fs.writeFileSync(path.join(dir, 'rank-0.json'), '{"format":');
      assert.throws(() => readParts(dir), /rank-0\.json is not valid JSON/);
      fs.writeFileSync(path.join(dir, 'rank-0.json'), JSON.stringify(part(0, 0, [])));
      assert.equal(readParts(dir).length, 1);
      assert.throws(() => readParts(path.join(dir, 'nope')), /cannot read the parts directory/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
