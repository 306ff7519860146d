// darray-report: the picture of a traced job. `darray-report out.json [--out DIR] [--top N]` writes a timeline per
// rank (rank-<r>.svg/.png), all ranks at a glance (job.svg/.png), the time split of all ranks (summary.svg/.png)
// and summary.md, and prints the tables.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fractionsSpec, jobSpec, summaryMarkdown, timelineSpec } from '../src/trace/charts.js';
import type { MergedTrace } from '../src/trace/format.js';
import { writeChart } from '../src/trace/render.js';

const USAGE = 'usage: darray-report TRACE.json [--out DIR] [--top N]\n  (TRACE.json: a merged trace from darray-run --trace or DARRAY_TRACE)';

function parse(argv: string[]): { file: string; out: string; top: number } {
  let file: string | undefined;
  let out: string | undefined;
  let top = 10;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') out = argv[++i];
    else if (a === '--top') top = Number(argv[++i]);
    else if (a === '-h' || a === '--help') throw new Error(USAGE);
    else if (a.startsWith('-') || file !== undefined) throw new Error(`unexpected argument ${a}\n${USAGE}`);
    else file = a;
  }
  if (file === undefined) throw new Error(USAGE);
  if (out === undefined || out === '') out = `${file.replace(/\.json$/, '')}-report`;
  if (!Number.isInteger(top) || top < 1) throw new Error(`--top must be a positive integer\n${USAGE}`);
  return { file, out, top };
}

function load(file: string): MergedTrace {
  let t: MergedTrace;
  try {
    t = JSON.parse(readFileSync(file, 'utf8')) as MergedTrace;
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(t?.traceEvents) || t.otherData?.darray?.format !== 'darray-trace') {
    throw new Error(`${file} is not a merged darray trace (no otherData.darray); make one with darray-run --trace`);
  }
  return t;
}

async function main(): Promise<void> {
  const { file, out, top } = parse(process.argv.slice(2));
  const trace = load(file);
  mkdirSync(out, { recursive: true });
  const written: string[] = [];
  for (const r of trace.otherData.darray.ranks) written.push(...(await writeChart(timelineSpec(trace, r.rank), join(out, `rank-${r.rank}`))));
  written.push(...(await writeChart(jobSpec(trace), join(out, 'job'))));
  written.push(...(await writeChart(fractionsSpec(trace.otherData.darray.summary), join(out, 'summary'))));
  const md = summaryMarkdown(trace, top);
  writeFileSync(join(out, 'summary.md'), md);
  written.push(join(out, 'summary.md'));
  process.stdout.write(`${md}\nwrote ${written.length} files to ${out}/\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`darray-report: ${e.message}\n`);
  process.exit(e.message.startsWith('usage') ? 2 : 1);
});
