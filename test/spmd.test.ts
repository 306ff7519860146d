// Runs every SPMD program test/spmd/*.ts (names starting with _ are helpers) through the launcher at each
// rank count of its `// spmd:` header, under --timeout; a non-zero exit fails with the output's tail.
// SPMD_FILTER=regex limits the files, SPMD_RANKS=1,4 the rank counts, SPMD_DIR another directory of programs.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsxLoaderUrl } from '../scripts/launcher/program.js';
import { parseSpmdHeader, type SpmdSpec } from '../scripts/launcher/spmd-header.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const spmdDir = process.env.SPMD_DIR ? path.resolve(process.env.SPMD_DIR) : path.join(here, 'spmd');
const launcher = path.join(root, 'scripts', 'mpirun.ts');
const TAIL_BYTES = 16 * 1024;

interface Outcome { code: number | null; signal: NodeJS.Signals | null; tail: string }

/** Runs the launcher; keeps only the tail of the output; kills it if it outlives its own timeout. */
function launch(args: string[], limitMs: number): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsxLoaderUrl(), launcher, ...args],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (b: Buffer) => { tail = (tail + b.toString()).slice(-TAIL_BYTES); };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    // The launcher's --timeout should fire first; this only guards against a launcher that hangs itself.
    // SIGTERM lets the launcher stop its ranks; SIGKILL (its watchdog then cleans up) if even that hangs.
    let killer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => {
      tail += '\n[spmd.test] launcher did not exit in time; stopping it\n';
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, limitMs);
    const clear = () => { clearTimeout(guard); clearTimeout(killer); };
    child.on('error', (err) => { clear(); reject(err); });
    child.on('close', (code, signal) => { clear(); resolve({ code, signal, tail }); });
  });
}

const filter = process.env.SPMD_FILTER ? new RegExp(process.env.SPMD_FILTER) : undefined;
const rankFilter = process.env.SPMD_RANKS?.split(',').map(Number);
const files = fs.existsSync(spmdDir)
  ? fs.readdirSync(spmdDir).filter((f) => f.endsWith('.ts') && !f.startsWith('_') && (!filter || filter.test(f))).sort()
  : [];

describe('SPMD programs (test/spmd/*.ts under the launcher)', function () {
  if (files.length === 0) it.skip(`no SPMD programs found in ${path.relative(root, spmdDir)}${filter ? ` matching ${filter}` : ''}`);
  for (const file of files) {
    const rel = path.relative(root, path.join(spmdDir, file));
    let spec: SpmdSpec;
    try {
      spec = parseSpmdHeader(fs.readFileSync(path.join(spmdDir, file), 'utf8'), rel);
    } catch (err) {
      it(`${file}: header`, () => { throw err; });
      continue;
    }
    const envValues: (string | undefined)[] = spec.env ? spec.env.values : [undefined];
    for (const n of spec.ranks.filter((r) => !rankFilter || rankFilter.includes(r))) {
      for (const value of envValues) {
        const envArg = spec.env && value !== undefined ? `${spec.env.name}=${value}` : undefined;
        it(`${file} at ${n} rank${n === 1 ? '' : 's'}${envArg ? ` with ${envArg}` : ''}`, async function () {
          this.timeout(spec.timeout * 1000 + 20_000);
          const args = ['--timeout', String(spec.timeout), '-n', String(n), ...(envArg ? ['-x', envArg] : []), rel];
          const out = await launch(args, spec.timeout * 1000 + 15_000);
          if (out.code !== 0) {
            const how = out.signal ? `was killed by ${out.signal}` : `exited with code ${out.code}${out.code === 110 ? ' (timeout)' : ''}`;
            throw new Error(`darray-run ${args.join(' ')} ${how}; output tail:\n${out.tail}`);
          }
        });
      }
    }
  }
});
