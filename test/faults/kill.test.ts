// Issue 6, item 1: a rank exits non-zero, throws or is SIGKILLed in the middle of a send, an any-source receive
// and each collective (4 ranks): every other rank is gone within 2 s, the job's exit code is the failing rank's
// (128+signal when killed), its rank and host are named, and no process and no ipc file is left.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { alive, launch, processesOfRundir, prog, rankPids, scratch } from './harness.js';

const OPS = ['send', 'anyrecv', 'barrier', 'bcast', 'reduce', 'allreduce', 'gather', 'allgather', 'scatter', 'alltoall', 'split'];
const MODES: { mode: string; code: number; says: RegExp }[] = [
  { mode: 'exit', code: 3, says: /exited with code 3/ },
  { mode: 'throw', code: 1, says: /exited with code 1/ },
  { mode: 'kill', code: 137, says: /was killed by SIGKILL/ },
];
/** Jobs to run; each takes the next (mode, operation) of the matrix, so 33 covers it all once. */
const REPEATS = Number(process.env.FAULTS_REPEATS ?? 33);
const NP = 4;
const BOUND_MS = 2000;

describe('faults: a failing rank stops the whole job', function () {
  this.timeout(0);
  const times: number[] = [];
  after(() => {
    if (times.length === 0) return;
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`      ${times.length} jobs: all ranks gone ${sorted[0]}..${sorted[sorted.length - 1]} ms after the failure (median ${sorted[Math.floor(sorted.length / 2)]} ms)`);
  });

  for (let i = 0; i < REPEATS; i++) {
    const { mode, code, says } = MODES[i % MODES.length];
    const op = OPS[Math.floor(i / MODES.length) % OPS.length];
    const victim = (i * 7 + 1) % NP; // varies, rank 0 included
    const delay = (i * 13) % 20;
    it(`#${i}: rank ${victim} ${mode} in ${op} (after ${delay} ms)`, async () => {
      const dir = scratch('kill');
      try {
        const r = await launch(['-n', String(NP), '--timeout', '60', prog('die.ts'), mode, op, String(victim), dir, String(delay)]);
        const why = `code ${r.code}\nstderr:\n${r.err.slice(-1500)}\nstdout:\n${r.out.slice(-500)}`;
        assert.equal(r.code, code, why);
        assert.match(r.err, new RegExp(`rank ${victim} \\(host localhost, pid \\d+\\) ${says.source}`), why);
        const died = Number(fs.readFileSync(`${dir}/death`, 'utf8'));
        const gone = r.endedAt - died;
        times.push(gone);
        assert.ok(gone <= BOUND_MS, `the other ranks took ${gone} ms to go (bound ${BOUND_MS} ms)`);
        const pids = rankPids(dir);
        assert.equal(pids.length, NP);
        assert.deepEqual(pids.filter(alive), [], 'rank processes left running');
        const rundir = fs.readFileSync(`${dir}/rundir`, 'utf8');
        assert.ok(rundir.length > 0);
        assert.equal(fs.existsSync(rundir), false, `run directory ${rundir} (ipc sockets) left behind`);
        assert.deepEqual(processesOfRundir(rundir), [], 'processes of the job left behind');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
