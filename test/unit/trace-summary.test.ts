// Unit tests of the summary on hand-made events with known answers, and of the report's pieces built from it
// (timeline rows with folded lanes, the Markdown tables, the vega-lite specs rendered to SVG and PNG).
import assert from 'node:assert/strict';
import { fractionsSpec, MAX_LANES, summaryMarkdown, timelineRows, timelineSpec } from '../../src/trace/charts.js';
import type { ChromeEvent, PartEvent, TracePart } from '../../src/trace/format.js';
import { mergeParts } from '../../src/trace/merge.js';
import { toPng, toSvg } from '../../src/trace/render.js';
import { summarize, unionLength } from '../../src/trace/summary.js';

const x = (cat: string, ts: number, dur: number, args?: Record<string, unknown>, name = cat): ChromeEvent =>
  ({ name, cat, ph: 'X', ts, dur, pid: 0, tid: 1, args });
const info = { rank: 0, host: 'h', pid: 1, start: 0, end: 100, offsetUs: [0, 0] as [number, number], rttUs: null, dropped: 0 };

describe('trace summary and report pieces', () => {
  it('unionLength merges overlapping and touching intervals', () => {
    assert.equal(unionLength([]), 0);
    assert.equal(unionLength([[0, 10], [5, 15], [20, 25], [25, 30], [40, 40]]), 25);
  });

  it('splits wall time into compute, communication not hidden by compute, and idle', () => {
    // Kernels busy 10..40 (two overlapping); a receive pending 30..60 is hidden 30..40 and costs 40..60.
    const ev = [
      x('kernel', 10, 20, { shape: [2, 2, 2], flops: 16e3 }, 'gemm'), x('kernel', 20, 20, { shape: [2, 2, 2], flops: 16e3 }, 'gemm'),
      x('recv', 30, 30, { bytes: 100 }), x('send', 70, 5, { bytes: 60 }), x('collective', 72, 8), x('phase', 0, 100),
    ];
    const s = summarize(ev, [info], { flows: 0, unmatchedSends: 0, unmatchedRecvs: 0 });
    const r = s.ranks[0];
    assert.equal(r.wallUs, 100);
    assert.equal(r.computeUs, 30);
    assert.equal(r.commUs, 30); // 40..60 and 70..80
    assert.equal(r.idleUs, 40);
    assert.deepEqual([r.compute, r.comm, r.idle], [0.3, 0.3, 0.4]);
    assert.deepEqual([r.kernelCount, r.kernelSumUs, r.collectiveCount], [2, 40, 1]);
    assert.deepEqual([r.messagesSent, r.bytesSent, r.messagesReceived, r.bytesReceived], [1, 60, 1, 100]);
    assert.equal(s.bytesMoved, 60);
    assert.deepEqual(s.kernels, [{ name: 'gemm', shape: '2x2x2', count: 2, totalUs: 40, gflops: 0.8 }]);
  });

  it('builds timelines with lanes folded, tables, and charts that render to SVG and PNG', async () => {
    const evs: PartEvent[] = Array.from({ length: MAX_LANES + 3 }, (_, i) => ({ c: 'recv', n: 'recv', t: i * 0.001, d: 50, a: { peer: 0, ctx: 0, tag: i, bytes: 8, ord: 0 } }));
    evs.push({ c: 'kernel', n: 'potrf', t: 1, d: 2, a: { shape: [64], flops: 64 ** 3 / 3 } });
    const p: TracePart = { format: 'darray-trace-part', version: 1, rank: 0, size: 1, host: 'h', pid: 1, timeOrigin: 0, start: 0, end: 60, clock: [], dropped: 0, events: evs };
    const t = mergeParts([p]);
    const { rows, lanes } = timelineRows(t, 0);
    assert.equal(rows.length, MAX_LANES + 4);
    assert.deepEqual(lanes, ['compute', 'recv', 'recv 2', 'recv 3', 'recv 4', 'recv 5', `recv ${MAX_LANES}+`]);
    assert.equal(rows.filter((r) => r.lane === `recv ${MAX_LANES}+`).length, 4);
    const md = summaryMarkdown(t);
    assert.match(md, /^\| 0 \| 60\.0 \| 3\.3% \| 80\.0% \| 16\.7% \| 1 \|/m);
    assert.match(md, /\| potrf \| 64 \| 1 \| 2\.0 \| 100\.0% \| 0\.0 \|/);
    const svg = await toSvg(timelineSpec(t, 0));
    assert.match(svg, /^<svg/);
    assert.match(svg, /rank 0: compute 3\.3%/);
    assert.match(await toSvg(fractionsSpec(t.otherData.darray.summary)), /communication/);
    const png = toPng(svg, 1);
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
  });
});
