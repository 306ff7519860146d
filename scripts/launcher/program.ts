// Turns the user's program into the command a rank runs: .ts through tsx, .js/.mjs/.cjs through node,
// anything else executed directly. tsx is resolved from this package, so any working directory works.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from './args.js';

const TS_EXT = new Set(['.ts', '.mts', '.cts', '.tsx']);
const JS_EXT = new Set(['.js', '.mjs', '.cjs']);

/**
 * The URL of tsx's ESM loader, for `node --import <url>`. Found through tsx's package.json rather than
 * import.meta.resolve, which is missing when this module is loaded as CommonJS (under mocha).
 */
export function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  const pkgPath = require.resolve('tsx/package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgPath, 'utf8')) as { exports?: Record<string, unknown> };
  let entry = pkg.exports?.['.'];
  if (entry && typeof entry === 'object') entry = (entry as Record<string, unknown>).import ?? (entry as Record<string, unknown>).default;
  if (typeof entry !== 'string') throw new Error(`cannot find tsx's loader in ${pkgPath}`);
  return pathToFileURL(path.join(path.dirname(pkgPath), entry)).href;
}

function findInPath(name: string, envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch { /* not here */ }
  }
  return undefined;
}

/**
 * V8 flags for every rank run by node. V8 gives a small heap's old generation little headroom over what is
 * live, and a rank that keeps a factorization's task graph alive (thousands of promises and closures, promoted
 * out of the young generation) kept reaching that limit: 3 to 4 full collections per Cholesky of n = 4096 on 2
 * ranks, their marking on the rank's own cores, where they slowed the kernels by about a fifth. A larger
 * initial old generation leaves about one per factorization. Neither NODE_OPTIONS nor a running program can set
 * it: under mpirun or srun, pass it to node yourself.
 */
export const RANK_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/**
 * The argv (executable first) that runs `program` with `args`. Script paths are made absolute so the same
 * command works on remote hosts that share the file system. Throws UsageError when the program is missing.
 */
export function programCommand(program: string, args: readonly string[], cwd = process.cwd(),
  envPath = process.env.PATH): string[] {
  const ext = path.extname(program).toLowerCase();
  if (TS_EXT.has(ext) || JS_EXT.has(ext)) {
    const abs = path.resolve(cwd, program);
    if (!fs.existsSync(abs)) throw new UsageError(`program not found: ${program} (looked at ${abs})`);
    if (!fs.statSync(abs).isFile()) throw new UsageError(`program is not a file: ${program}`);
    const loader = TS_EXT.has(ext) ? ['--import', tsxLoaderUrl()] : [];
    return [process.execPath, ...RANK_NODE_FLAGS, ...loader, abs, ...args];
  }
  if (program.includes('/')) {
    const abs = path.resolve(cwd, program);
    try {
      fs.accessSync(abs, fs.constants.X_OK);
    } catch {
      throw new UsageError(`program not found or not executable: ${program}`);
    }
    return [abs, ...args];
  }
  const found = findInPath(program, envPath);
  if (!found) throw new UsageError(`program '${program}' not found in PATH`);
  return [found, ...args];
}
