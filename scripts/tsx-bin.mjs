// Shared body of the package's bins: runs one of its TypeScript scripts through tsx, resolved from this
// package, so the bin works from a checkout, an installed package and any working directory.

import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

/** Runs `script` (a URL next to the calling bin) with this process's arguments and exits with its status. */
export function runTypeScript(name, script) {
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, fileURLToPath(script), ...process.argv.slice(2)],
    { stdio: 'inherit' });
  // The script handles SIGINT/SIGTERM/SIGHUP itself (the launcher stops the job); forward them and wait for it.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => { try { child.kill(sig); } catch { /* already gone */ } });
  }
  child.on('error', (err) => {
    process.stderr.write(`${name}: cannot start ${fileURLToPath(script)}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    process.exit(code ?? 128 + (os.constants.signals[signal] ?? 0));
  });
}
