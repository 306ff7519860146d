// Runs one rank on a remote host on behalf of darray-run: a launch agent such as ssh carries no signals,
// so the launcher sends them as lines on this process's stdin (TERM, KILL, USR2), and EOF means "stop".
// Usage: node remote-guard.mjs RUNDIR COMMAND [ARGS...]. Exits with the command's code (128+signal if killed).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [rundir, cmd, ...args] = process.argv.slice(2);
if (!rundir || !cmd) {
  process.stderr.write('remote-guard: usage: node remote-guard.mjs RUNDIR COMMAND [ARGS...]\n');
  process.exit(2);
}

// DARRAY_RUNDIR is private to this rank on this host; the parent is the job's directory here. The launcher's
// own run directory carries a .launcher marker: that one is the launcher's to remove, not ours.
fs.mkdirSync(rundir, { recursive: true, mode: 0o700 });
const jobDir = path.dirname(rundir);
function cleanup() {
  try { fs.rmSync(rundir, { recursive: true, force: true }); } catch { /* best effort */ }
  if (!fs.existsSync(path.join(jobDir, '.launcher'))) {
    try { fs.rmdirSync(jobDir); } catch { /* another rank of this host still uses it */ }
  }
}

// Own process group, so the whole program (its children too) can be signalled.
const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
let killTimer;
function signalGroup(sig) {
  try { process.kill(-child.pid, sig); } catch { /* already gone */ }
}
function stop() {
  signalGroup('SIGTERM');
  killTimer ??= setTimeout(() => {
    signalGroup('SIGKILL');
    // Bounded even for a process that cannot die (stuck in the kernel): report and leave.
    setTimeout(() => {
      process.stderr.write(`remote-guard on ${os.hostname()}: pid ${child.pid} did not exit after SIGKILL\n`);
      cleanup();
      process.exit(137);
    }, 3000).unref();
  }, 2000);
}

child.on('error', (err) => {
  process.stderr.write(`remote-guard on ${os.hostname()}: cannot start ${cmd}: ${err.message}\n`);
  cleanup();
  process.exit(127);
});
child.on('exit', (code, signal) => {
  clearTimeout(killTimer);
  // Leave nothing behind from this rank's group.
  signalGroup('SIGKILL');
  cleanup();
  process.exit(signal ? 128 + (os.constants.signals[signal] ?? 0) : (code ?? 1));
});

let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  buffered += text;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl).trim();
    buffered = buffered.slice(nl + 1);
    if (line === 'USR2') { try { process.kill(child.pid, 'SIGUSR2'); } catch { /* gone */ } }
    else if (line === 'TERM') stop();
    else if (line === 'KILL') signalGroup('SIGKILL');
  }
});
process.stdin.on('end', stop);
process.stdin.on('error', stop);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, stop);
