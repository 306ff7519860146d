// Issue 6, item 7, first half: what a job listens on. Rank 0 lists every listening socket of the job's processes
// (ss): an ipc job may listen only on unix sockets inside its 0700 run directory (or 127.0.0.1), a tcp job only on
// each rank's own DARRAY_HOST address, never on a wildcard. Also no rank's command line holds a key. Prints "sockets:".
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync, readFileSync } from 'node:fs';
import { finalize, init } from '../../../src/comm/index.js';

const comm = await init();
const me = { pid: process.pid, host: process.env.DARRAY_HOST ?? '', rundir: process.env.DARRAY_RUNDIR ?? '', transport: process.env.DARRAY_TRANSPORT };
const all = await comm.allgather(me);
if (comm.rank === 0) {
  const pidOf = (line: string): number[] => [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
  const ours = (line: string) => pidOf(line).some((p) => all.some((r) => r.pid === p));
  const inet = execFileSync('ss', ['-H', '-lntup'], { encoding: 'utf8' }).split('\n').filter(ours);
  const unix = execFileSync('ss', ['-H', '-lxp'], { encoding: 'utf8' }).split('\n').filter(ours);
  const bad: string[] = [];
  for (const l of inet) {
    const local = l.trim().split(/\s+/)[3]; // Netid State Recv-Q Send-Q Local:Port ... (-H drops the header)
    const addr = (l.trim().split(/\s+/).find((f) => /:\d+$/.test(f)) ?? local).replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const owner = all.find((r) => pidOf(l).includes(r.pid))!;
    const allowed = owner.transport === 'tcp' ? addr === owner.host : addr === '127.0.0.1';
    if (!allowed) bad.push(`inet listener on ${addr} of rank pid ${owner.pid}: ${l.trim()}`);
  }
  for (const l of unix) {
    const path = l.trim().split(/\s+/).find((f) => f.startsWith('/')) ?? '';
    const owner = all.find((r) => pidOf(l).includes(r.pid))!;
    if (!owner.rundir || !path.startsWith(`${owner.rundir}/`)) bad.push(`unix listener ${path} outside the run directory ${owner.rundir}`);
  }
  const dirs = [...new Set(all.map((r) => r.rundir).filter(Boolean))];
  for (const d of dirs) {
    try {
      const mode = statSync(d).mode & 0o777;
      if (mode !== 0o700) bad.push(`run directory ${d} has mode ${mode.toString(8)}`);
    } catch { /* a remote rank's private dir on another host: not visible here */ }
  }
  for (const r of all) {
    const cmd = readFileSync(`/proc/${r.pid}/cmdline`, 'latin1');
    if (/curve|secret|KEYFILE=|serverSecret/i.test(cmd)) bad.push(`rank pid ${r.pid} has key material on its command line`);
  }
  console.log(`sockets: ${all[0].transport} job of ${all.length}: ${inet.length} inet listeners (${inet.map((l) => l.trim().split(/\s+/)[4]).join(' ')}), ${unix.length} unix listeners in ${dirs.join(' ')}, ${bad.length} problems`);
  for (const b of bad) console.log(`sockets: PROBLEM ${b}`);
  assert.deepEqual(bad, []);
  assert.ok(inet.length + unix.length >= all.length, 'found fewer listeners than ranks: ss did not see the job');
}
await comm.barrier();
await finalize();
