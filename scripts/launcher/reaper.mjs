// Watchdog of darray-run: if the launcher dies without cleaning up (SIGKILL, crash), stop every rank's
// process group and remove the run directory. Usage: node reaper.mjs RUNDIR; stdin lines: "pgid N" per
// rank, "done" when the launcher finished cleanly. EOF on stdin without "done" means the launcher is gone.

import fs from 'node:fs';
import { onStdinLines } from './stdin-lines.mjs';

const rundir = process.argv[2];
const groups = new Set();
let done = false;

// Outlive the launcher's own signals (a terminal hang-up reaches the whole session).
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => {});

function signalAll(sig) {
  let any = false;
  for (const pgid of groups) {
    try { process.kill(-pgid, sig); any = true; } catch { groups.delete(pgid); }
  }
  return any;
}

onStdinLines((line) => {
  const m = /^pgid (\d+)$/.exec(line);
  if (m) groups.add(Number(m[1]));
  else if (line === 'done') done = true;
});
process.stdin.on('close', () => {
  if (done) process.exit(0);
  const anyAlive = signalAll('SIGTERM');
  const finish = () => {
    signalAll('SIGKILL');
    if (rundir) fs.rmSync(rundir, { recursive: true, force: true });
    process.exit(0);
  };
  if (anyAlive) setTimeout(finish, 2000); else finish();
});
