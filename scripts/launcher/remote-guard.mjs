// Runs one rank on a remote host on behalf of darray-run: a launch agent such as ssh carries no signals,
// so the launcher sends them as lines on this process's stdin (TERM, KILL, USR2), and EOF means "stop".
// Usage: node remote-guard.mjs RUNDIR COMMAND [ARGS...]. Exits with the command's code (128+signal if killed).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onStdinLines } from './stdin-lines.mjs';

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

// Own process group, so the whole program (its children too) can be signalled. In a CURVE-secured job the
// launcher's first stdin line carries this rank's keys; the program starts once they are in its 0600 key file.
let child;
const keyFile = process.env.DARRAY_KEYFILE;
function start() {
  child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
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
}
function takeKeys(line) {
  try {
    const text = Buffer.from(line.slice('KEYS '.length), 'base64').toString('utf8');
    JSON.parse(text); // well-formed, or refuse to start
    const fd = fs.openSync(keyFile, 'wx', 0o600);
    fs.writeSync(fd, text);
    fs.closeSync(fd);
  } catch (err) {
    process.stderr.write(`remote-guard on ${os.hostname()}: cannot write the key file ${keyFile}: ${err.message}\n`);
    cleanup();
    process.exit(126);
  }
  start();
}
let killTimer;
if (!keyFile) start();
function signalGroup(sig) {
  if (!child) return;
  try { process.kill(-child.pid, sig); } catch { /* already gone */ }
}
function stop() {
  if (!child) {
    // Told to stop before the keys came: nothing was started.
    cleanup();
    process.exit(143);
  }
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

onStdinLines((line) => {
  if (!child && keyFile && line.startsWith('KEYS ')) takeKeys(line);
  else if (line === 'USR2') { if (child) try { process.kill(child.pid, 'SIGUSR2'); } catch { /* gone */ } }
  else if (line === 'TERM') stop();
  else if (line === 'KILL') signalGroup('SIGKILL');
});
process.stdin.on('end', stop);
process.stdin.on('error', stop);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(sig, stop);
