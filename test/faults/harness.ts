// Shared pieces of the fault tests: run the launcher in this process on a program of test/faults/progs, collect
// its output, and check that a job left no process and no run directory behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from '../../scripts/launcher/args.js';
import { runJob } from '../../scripts/launcher/job.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const prog = (name: string): string => fileURLToPath(new URL(`./progs/${name}`, import.meta.url));

export interface JobResult {
  code: number;
  out: string;
  err: string;
  ms: number;
  endedAt: number; // Date.now() when the launcher returned: every rank was gone by then
}

/** Runs `darray-run ARGS` in this process (one tsx loader for all jobs) and returns its code and output. */
export async function launch(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<JobResult> {
  let out = '';
  let err = '';
  const t0 = Date.now();
  const code = await runJob(parseArgs(args), {
    stdout: { write: (c: Buffer | string) => (out += c) },
    stderr: { write: (c: Buffer | string) => (err += c) },
    env,
    cwd: ROOT,
  });
  const endedAt = Date.now();
  return { code, out, err, ms: endedAt - t0, endedAt };
}

/** A fresh scratch directory the test removes itself. */
export function scratch(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `darray-${tag}-`));
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids the ranks wrote as DIR/pid-<rank>. */
export function rankPids(dir: string): number[] {
  return fs.readdirSync(dir).filter((f) => /^pid-\d+$/.test(f)).map((f) => Number(fs.readFileSync(path.join(dir, f), 'utf8')));
}

/** Processes whose environment names this run directory: any survivor of the job, children included. */
export function processesOfRundir(rundir: string): number[] {
  const found: number[] = [];
  if (!rundir) return found;
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'latin1').includes(`DARRAY_RUNDIR=${rundir}`)) found.push(Number(d));
    } catch { /* gone or not ours */ }
  }
  return found;
}

/**
 * Bundles a program of test/faults/progs into one .mjs file that the launcher runs through plain node: a job
 * then starts in a fraction of the time tsx takes to compile the program and src/comm in each of its ranks.
 * The bundle lives in a fresh directory under ROOT/tmp so that node resolves zeromq (kept external, it is
 * native) from the repository's node_modules; the caller removes the directory with removeBundles.
 */
export async function bundle(name: string): Promise<string> {
  // esbuild comes with tsx, which every test run loads already.
  const { build } = await import('esbuild');
  fs.mkdirSync(path.join(ROOT, 'tmp'), { recursive: true });
  const dir = fs.mkdtempSync(path.join(ROOT, 'tmp', 'faults-bundle-'));
  const outfile = path.join(dir, name.replace(/\.ts$/, '.mjs'));
  await build({ entryPoints: [prog(name)], bundle: true, platform: 'node', format: 'esm', target: 'node20',
    external: ['zeromq'], outfile, logLevel: 'error' });
  return outfile;
}

export function removeBundle(file: string): void {
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
}
