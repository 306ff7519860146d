// The report's pieces built from a merged trace, without rendering: a vega-lite timeline per rank, the stacked
// compute / communication / idle chart, and the summary tables as Markdown. Rendered by src/trace/render.ts.
import type { TopLevelSpec } from 'vega-lite';
import { CATEGORIES, LANES, type Category, type MergedTrace, type TraceSummary } from './format.js';

/** Lanes of one category drawn per rank; spans on further lanes share the last (Perfetto shows them all). */
export const MAX_LANES = 6;
const COLORS: Record<Category, string> = { kernel: '#4c78a8', collective: '#f58518', send: '#54a24b', recv: '#e45756', phase: '#9d755d' };

export interface TimelineRow { lane: string; cat: string; name: string; start: number; end: number; detail: string }

/** Rows (times in ms from the job's start) of one rank's timeline, lanes folded to MAX_LANES per category. */
export function timelineRows(trace: MergedTrace, rank: number): { rows: TimelineRow[]; lanes: string[] } {
  const rows: TimelineRow[] = [];
  const used = new Set<string>();
  for (const e of trace.traceEvents) {
    if (e.ph !== 'X' || e.pid !== rank) continue;
    const cat = e.cat as Category;
    const lane = Math.min(MAX_LANES - 1, (e.tid ?? 0) - LANES[cat].tidBase);
    const label = lane === 0 ? LANES[cat].label : `${LANES[cat].label} ${lane + 1}${lane === MAX_LANES - 1 ? '+' : ''}`;
    used.add(label);
    const a = e.args ?? {};
    const detail = cat === 'kernel' ? `${(a.shape as number[] | undefined)?.join('x') ?? ''}`
      : cat === 'send' || cat === 'recv' ? `peer ${a.peer}, tag ${a.tag}, ${a.bytes} B` : '';
    rows.push({ lane: label, cat: LANES[cat].label, name: e.name, start: e.ts! / 1000, end: (e.ts! + e.dur!) / 1000, detail });
  }
  const order: string[] = [];
  for (const c of CATEGORIES) for (let k = 0; k < MAX_LANES; k++) {
    const l = k === 0 ? LANES[c].label : `${LANES[c].label} ${k + 1}${k === MAX_LANES - 1 ? '+' : ''}`;
    if (used.has(l)) order.push(l);
  }
  return { rows, lanes: order };
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** A Gantt chart: a row per lane (in `lanes` order), a bar per span, coloured by category, on the job's time axis. */
function gantt(rows: TimelineRow[], lanes: string[], title: string, endMs: number, opacity = 1): TopLevelSpec {
  const cats = CATEGORIES.map((c) => LANES[c].label);
  const colors = { domain: cats, range: CATEGORIES.map((c) => COLORS[c]) };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 900,
    height: { step: 16 },
    data: { values: rows },
    mark: { type: 'bar', strokeWidth: 0.4, opacity },
    encoding: {
      x: { field: 'start', type: 'quantitative', title: 'time since the job started (ms)', scale: { domain: [0, endMs] } },
      x2: { field: 'end' },
      y: { field: 'lane', type: 'nominal', sort: lanes, title: null },
      color: { field: 'cat', type: 'nominal', scale: colors, title: null },
      // Spans shorter than a pixel still show as a hairline.
      stroke: { field: 'cat', type: 'nominal', scale: colors, legend: null },
      tooltip: [{ field: 'name' }, { field: 'detail' }, { field: 'start' }, { field: 'end' }],
    },
  };
}

const jobEnd = (trace: MergedTrace): number => Math.max(...trace.otherData.darray.ranks.map((r) => r.end)) / 1000;

/** The timeline of one rank, its time split in the title. */
export function timelineSpec(trace: MergedTrace, rank: number): TopLevelSpec {
  const { rows, lanes } = timelineRows(trace, rank);
  const s = trace.otherData.darray.summary.ranks.find((r) => r.rank === rank);
  const title = s ? `rank ${rank}: compute ${pct(s.compute)}, communication ${pct(s.comm)}, idle ${pct(s.idle)}` : `rank ${rank}`;
  return gantt(rows, lanes, title, jobEnd(trace));
}

/** All ranks on one chart: a row per rank and category (its lanes drawn over each other), for a first look. */
export function jobSpec(trace: MergedTrace): TopLevelSpec {
  const d = trace.otherData.darray;
  const rows: TimelineRow[] = [];
  const order: string[] = [];
  for (const r of d.ranks) {
    const mine = timelineRows(trace, r.rank).rows;
    for (const c of CATEGORIES) {
      const lane = `rank ${r.rank} ${LANES[c].label}`;
      const of = mine.filter((x) => x.cat === LANES[c].label);
      if (of.length) order.push(lane);
      for (const x of of) rows.push({ ...x, lane });
    }
  }
  const title = `${d.size} rank(s), compute share: ${d.summary.ranks.map((s) => `rank ${s.rank} ${pct(s.compute)}`).join(', ')}`;
  return gantt(rows, order, title, jobEnd(trace), 0.7);
}

/** Stacked bars: the compute / communication / idle fractions of every rank. */
export function fractionsSpec(summary: TraceSummary): TopLevelSpec {
  const values = summary.ranks.flatMap((r) => [
    { rank: `rank ${r.rank}`, part: 'compute', fraction: r.compute, order: 0 },
    { rank: `rank ${r.rank}`, part: 'communication', fraction: r.comm, order: 1 },
    { rank: `rank ${r.rank}`, part: 'idle', fraction: r.idle, order: 2 },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'where each rank spent its time',
    width: 600,
    height: { step: 22 },
    data: { values },
    mark: 'bar',
    encoding: {
      y: { field: 'rank', type: 'nominal', title: null, sort: summary.ranks.map((r) => `rank ${r.rank}`) },
      x: { field: 'fraction', type: 'quantitative', stack: 'normalize', axis: { format: '%' }, title: 'share of wall time' },
      color: { field: 'part', type: 'nominal', scale: { domain: ['compute', 'communication', 'idle'], range: ['#4c78a8', '#e45756', '#bab0ac'] }, title: null },
      order: { field: 'order' },
    },
  };
}

const mb = (b: number): string => (b / 2 ** 20).toFixed(2);
const ms = (us: number): string => (us / 1000).toFixed(1);

/** The summary as Markdown tables: per rank, then the busiest kernels (top `topKernels` by time). */
export function summaryMarkdown(trace: MergedTrace, topKernels = 10): string {
  const d = trace.otherData.darray;
  const s = d.summary;
  const lines = [
    `# darray trace: ${d.size} rank(s)`,
    '',
    '| rank | wall ms | compute | communication | idle | kernels | collectives | msgs sent | msgs recv | MiB sent | MiB recv | clock rtt µs |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of s.ranks) {
    const rtt = d.ranks.find((x) => x.rank === r.rank)?.rttUs;
    lines.push(`| ${r.rank} | ${ms(r.wallUs)} | ${pct(r.compute)} | ${pct(r.comm)} | ${pct(r.idle)} | ${r.kernelCount} | ${r.collectiveCount} | ` +
      `${r.messagesSent} | ${r.messagesReceived} | ${mb(r.bytesSent)} | ${mb(r.bytesReceived)} | ${rtt == null ? '-' : rtt.toFixed(0)} |`);
  }
  lines.push('', `Bytes moved: ${mb(s.bytesMoved)} MiB in ${s.flows} messages` +
    (s.unmatchedSends + s.unmatchedRecvs ? ` (${s.unmatchedSends} sends and ${s.unmatchedRecvs} receives unpaired)` : '') + '.');
  if (d.missing.length) lines.push('', `No trace from rank(s) ${d.missing.join(', ')}.`);
  const total = s.kernels.reduce((t, k) => t + k.totalUs, 0);
  lines.push('', '## Busiest kernels', '', '| kernel | shape | calls | total ms | share | GF/s |', '| --- | --- | ---: | ---: | ---: | ---: |');
  for (const k of s.kernels.slice(0, topKernels)) {
    lines.push(`| ${k.name} | ${k.shape} | ${k.count} | ${ms(k.totalUs)} | ${pct(total ? k.totalUs / total : 0)} | ${k.gflops == null ? '-' : k.gflops.toFixed(1)} |`);
  }
  if (s.kernels.length === 0) lines.push('| (no kernels) | | | | | |');
  return lines.join('\n') + '\n';
}
