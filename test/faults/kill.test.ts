// Issue 6, item 1: a rank exits non-zero, throws or is SIGKILLed in the middle of a send, an any-source receive
// and each collective (4 ranks, each case repeated 20 times): every other rank is gone within 2 s, the job's
// exit code is the failing rank's (128+signal when killed), its rank and host are named, and no process and no
// ipc file is left. The fault program is bundled once per run and launched through plain node (see bundle).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { alive, bundle, launch, processesOfRundir, rankPids, removeBundle, scratch } from './harness.js';

const OPS = ['send', 'anyrecv', 'barrier', 'bcast', 'reduce', 'allreduce', 'gather', 'allgather', 'scatter', 'alltoall', 'split'];
const MODES: { mode: string; code: number; says: RegExp }[] = [
  { mode: 'exit', code: 3, says: /exited with code 3/ },
  { mode: 'throw', code: 1, says: /exited with code 1/ },
  { mode: 'kill', code: 137, says: /was killed by SIGKILL/ },
];
/** Repetitions of each (mode, operation) case; the victim rank and the delay before failing vary between them. */
const REPEATS = Number(process.env.FAULTS_REPEATS ?? 20);
/** Jobs of one case run at a time: a job spends much of its time starting processes, which overlap well. */
const LANES = Number(process.env.FAULTS_PARALLEL ?? 2);
const NP = 4;
const BOUND_MS = 2000;

/** One job: checks every promise of item 1 and returns how long the other ranks took to go. */
async function oneJob(program: string, mode: string, op: string, code: number, says: RegExp, victim: number, delay: number): Promise<number> {
  const dir = scratch('kill');
  try {
    const r = await launch(['-n', String(NP), '--timeout', '60', program, mode, op, String(victim), dir, String(delay)]);
    const why = `rank ${victim} ${mode} in ${op} after ${delay} ms: code ${r.code}\nstderr:\n${r.err.slice(-1500)}\nstdout:\n${r.out.slice(-500)}`;
    assert.equal(r.code, code, why);
    assert.match(r.err, new RegExp(`rank ${victim} \\(host localhost, pid \\d+\\) ${says.source}`), why);
    const died = Number(fs.readFileSync(`${dir}/death`, 'utf8'));
    const gone = r.endedAt - died;
    assert.ok(gone <= BOUND_MS, `the other ranks took ${gone} ms to go (bound ${BOUND_MS} ms); ${why}`);
    const pids = rankPids(dir);
    assert.equal(pids.length, NP, why);
    assert.deepEqual(pids.filter(alive), [], `rank processes left running; ${why}`);
    const rundir = fs.readFileSync(`${dir}/rundir`, 'utf8');
    assert.ok(rundir.length > 0, why);
    assert.equal(fs.existsSync(rundir), false, `run directory ${rundir} (ipc sockets) left behind; ${why}`);
    assert.deepEqual(processesOfRundir(rundir), [], `processes of the job left behind; ${why}`);
    return gone;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const summary = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[0]}..${s[s.length - 1]} ms (median ${s[Math.floor(s.length / 2)]} ms)`;
};

describe(`faults: a failing rank stops the whole job (${REPEATS} repetitions of each case)`, function () {
  this.timeout(0);
  const times: number[] = [];
  const jobMs: number[] = [];
  let program = '';
  before(async () => { program = await bundle('die.ts'); });
  after(() => {
    if (program) removeBundle(program);
    if (times.length > 0) console.log(`      ${times.length} jobs: all ranks gone ${summary(times)} after the failure; a job took ${summary(jobMs)}`);
  });

  MODES.forEach(({ mode, code, says }, m) => {
    OPS.forEach((op, o) => {
      it(`${mode} in ${op}`, async () => {
        const mine: number[] = [];
        let next = 0;
        let failure: unknown;
        const lane = async (): Promise<void> => {
          for (let rep = next++; rep < REPEATS && failure === undefined; rep = next++) {
            const i = rep * MODES.length * OPS.length + o * MODES.length + m;
            const victim = (i * 7 + 1 + rep) % NP; // varies between repetitions, rank 0 included
            const delay = (i * 13) % 20;
            const t0 = Date.now();
            try {
              mine.push(await oneJob(program, mode, op, code, says, victim, delay));
            } catch (e) {
              failure ??= new Error(`repetition ${rep}: ${(e as Error).message}`);
            }
            jobMs.push(Date.now() - t0);
          }
        };
        // Every lane ends before the test does, so that no job of a failed case runs on into the next one.
        await Promise.all(Array.from({ length: Math.max(1, LANES) }, lane));
        if (failure !== undefined) throw failure;
        times.push(...mine);
        console.log(`        ${mine.length} jobs: gone ${summary(mine)}`);
      });
    });
  });
});
