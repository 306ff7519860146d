#!/usr/bin/env node
// The package's `darray-run` bin: runs the TypeScript launcher (scripts/mpirun.ts) through tsx, which is
// resolved from this package so it works from a checkout, an installed package and any working directory.

import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

const launcher = fileURLToPath(new URL('./mpirun.ts', import.meta.url));
const tsx = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--import', tsx, launcher, ...process.argv.slice(2)], { stdio: 'inherit' });

// The launcher handles SIGINT/SIGTERM/SIGHUP itself (it stops the job); forward them and wait for it.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { try { child.kill(sig); } catch { /* already gone */ } });
}
child.on('error', (err) => {
  process.stderr.write(`darray-run: cannot start the launcher: ${err.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0));
});
