// bench-plot: benchmark JSON lines -> a chart of ours beside the references (GF/s or seconds vs size), as SVG and
// PNG. `tsx scripts/bench-plot.ts [--x n] [--y gflops] [--out BASE] [FILE...]` (no FILE: stdin). A field
// `<ref>_<y>` (single_process_gflops, scalapack_gflops) is a reference; `ranks` splits ours into series.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { TopLevelSpec } from 'vega-lite';
import { writeChart } from '../src/trace/render.js';

export interface PlotOptions { x?: string; y?: string; title?: string }
export interface PlotRow { group: string; series: string; x: number; y: number }

const X_FIELDS = ['n', 'size', 'bytes', 'scale'];
const Y_FIELDS = ['gflops', 'seconds', 'us'];

/** Records of the JSON lines (a leading `BENCH ` is dropped; other lines are ignored, as bench output mixes them). */
export function parseLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^(\[\d+\] )?(BENCH )?/, '').trim();
    if (!line.startsWith('{')) continue;
    try {
      const v = JSON.parse(line);
      if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
    } catch { /* not a result line */ }
  }
  return out;
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** The points to plot: ours per `ranks`, each reference once per (group, x); the axes picked from the records. */
export function plotRows(recs: Record<string, unknown>[], opts: PlotOptions = {}): { rows: PlotRow[]; x: string; y: string } {
  const x = opts.x ?? X_FIELDS.find((f) => recs.some((r) => finite(r[f])));
  const y = opts.y ?? Y_FIELDS.find((f) => recs.some((r) => finite(r[f])));
  if (!x || !y) throw new Error(`no ${!x ? `size field (${X_FIELDS.join(', ')})` : `metric (${Y_FIELDS.join(', ')})`} in ${recs.length} record(s); name one with --x/--y`);
  const seen = new Map<string, PlotRow>();
  for (const r of recs) {
    if (!finite(r[x])) continue;
    const group = [r.bench, r.op ?? r.test].filter((v) => typeof v === 'string').join(' ') || 'benchmark';
    const add = (series: string, v: unknown) => {
      if (!finite(v)) return;
      const key = `${group}|${series}|${r[x]}`;
      if (!seen.has(key)) seen.set(key, { group, series, x: r[x] as number, y: v });
    };
    add(finite(r.ranks) ? `darray, ${r.ranks} rank${r.ranks === 1 ? '' : 's'}` : 'darray', r[y]);
    for (const [k, v] of Object.entries(r)) if (k.endsWith(`_${y}`)) add(k.slice(0, -y.length - 1).replace(/_/g, ' '), v);
  }
  const rows = [...seen.values()];
  if (rows.length === 0) throw new Error(`no record has both ${x} and ${y}`);
  return { rows, x, y };
}

/** Lines per series, a panel per group (op), log scale on x when sizes span more than a factor 8. */
export function plotSpec(rows: PlotRow[], x: string, y: string, title?: string): TopLevelSpec {
  const xs = rows.map((r) => r.x);
  const log = Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) > 8;
  const label: Record<string, string> = { gflops: 'GF/s', seconds: 'seconds', us: 'µs' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: title ?? `${label[y] ?? y} vs ${x}`,
    data: { values: rows },
    facet: { column: { field: 'group', type: 'nominal', title: null } },
    spec: {
      width: 320,
      height: 240,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: x, scale: log ? { type: 'log', base: 2 } : { zero: false } },
        y: { field: 'y', type: 'quantitative', title: label[y] ?? y },
        color: { field: 'series', type: 'nominal', title: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

async function main(argv: string[]): Promise<void> {
  const opts: PlotOptions = {};
  let out = 'bench-plot';
  const files: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--x' || a === '--y' || a === '--title' || a === '--out') {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      if (a === '--out') out = v.replace(/\.(svg|png)$/, '');
      else opts[a.slice(2) as keyof PlotOptions] = v;
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}\nusage: bench-plot.ts [--x FIELD] [--y FIELD] [--title T] [--out BASE] [FILE...]`);
    else files.push(a);
  }
  const text = files.length ? files.map((f) => readFileSync(f, 'utf8')).join('\n') : readFileSync(0, 'utf8');
  const { rows, x, y } = plotRows(parseLines(text), opts);
  const [svg, png] = await writeChart(plotSpec(rows, x, y, opts.title), out);
  process.stdout.write(`bench-plot: ${rows.length} points of ${y} vs ${x} -> ${svg}, ${png}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((e: Error) => {
    process.stderr.write(`bench-plot: ${e.message}\n`);
    process.exit(1);
  });
}
