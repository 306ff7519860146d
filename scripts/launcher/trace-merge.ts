// Merges a job's trace parts (FILE.parts/rank-<r>.json) into FILE, one Chrome Trace Event file, and removes the
// parts: called by the launcher after a --trace job; by hand: `tsx scripts/launcher/trace-merge.ts PARTS_DIR OUT`.
import { rmSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { mergeParts, readParts } from '../../src/trace/merge.js';

export interface MergeResult {
  file: string;
  ranks: number;
  missing: number[];
  events: number;
  flows: number;
  unmatched: number;
}

/** Merges `partsDir` into `out`; the parts are removed only once the merged file is written. Throws on bad parts. */
export function mergeTraceDir(partsDir: string, out: string): MergeResult {
  const merged = mergeParts(readParts(partsDir));
  writeFileSync(out, JSON.stringify(merged));
  rmSync(partsDir, { recursive: true, force: true });
  const d = merged.otherData.darray;
  return {
    file: out, ranks: d.ranks.length, missing: d.missing, events: merged.traceEvents.filter((e) => e.ph === 'X').length,
    flows: d.summary.flows, unmatched: d.summary.unmatchedSends + d.summary.unmatchedRecvs,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, out] = process.argv.slice(2);
  if (!dir || !out) {
    process.stderr.write('usage: trace-merge.ts PARTS_DIR OUT.json\n');
    process.exit(2);
  }
  try {
    const r = mergeTraceDir(dir, out);
    process.stdout.write(`trace-merge: ${r.file}: ${r.ranks} rank(s), ${r.events} spans, ${r.flows} messages paired\n`);
  } catch (e) {
    process.stderr.write(`trace-merge: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
