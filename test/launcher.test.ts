// Tests of the darray-run launcher as a process: failure modes and exit codes, no processes or run dirs
// left behind, --timeout, signals to the launcher, -x, output tagging and the remote (launch agent) path.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsxLoaderUrl } from '../scripts/launcher/program.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = path.join(root, 'test', 'fixtures', 'launcher');
const fixture = (name: string) => path.join(fixtures, name);
const fakeAgent = fixture('fake-agent.sh');

interface Result { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number }

/** Starts the launcher; `started` sees the child so a test can signal it. Killed if it outlives limitMs. */
function launch(args: string[], opts: { env?: NodeJS.ProcessEnv; limitMs?: number;
  started?: (child: ChildProcess, output: () => string) => void } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, ['--import', tsxLoaderUrl(), path.join(root, 'scripts', 'mpirun.ts'), ...args],
      { cwd: root, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const guard = setTimeout(() => child.kill('SIGKILL'), opts.limitMs ?? 90_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
    opts.started?.(child, () => stdout);
  });
}

/** Alive and not a zombie (a zombie has exited; only its parent's bookkeeping is left). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    try { process.kill(pid, 0); return !fs.existsSync('/proc/self'); } catch { return false; }
  }
}

interface RankReport { rank: number; pid: number; helper: number; rundir: string }

/** The `pid=... helper=... rundir=...` lines of the rank.ts fixture. */
function reports(stdout: string): RankReport[] {
  return [...stdout.matchAll(/^\[(\d+)\] pid=(\d+) helper=(\d+) rundir=(\S+)$/gm)]
    .map((m) => ({ rank: Number(m[1]), pid: Number(m[2]), helper: Number(m[3]), rundir: m[4] }));
}

/** Every rank and helper process is gone and the run dir removed, within a short bounded wait. */
async function assertNothingLeft(rs: RankReport[], expectRanks: number, waitMs = 1000): Promise<void> {
  assert.equal(rs.length, expectRanks, 'every rank reported its pids');
  const pids = rs.flatMap((r) => [r.pid, r.helper]);
  const left = () => pids.some(alive) || rs.some((r) => fs.existsSync(r.rundir));
  for (let t = 0; t < waitMs && left(); t += 50) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(pids.filter(alive), [], 'no rank or helper process is left');
  for (const r of rs) assert.equal(fs.existsSync(r.rundir), false, `run dir ${r.rundir} is removed`);
}

/** Sends `sig` to the launcher once every rank printed "all ready". */
function signalWhenReady(n: number, sig: NodeJS.Signals) {
  return (child: ChildProcess, output: () => string) => {
    const poll = setInterval(() => {
      if ((output().match(/\] all ready$/gm) ?? []).length >= n) {
        clearInterval(poll);
        child.kill(sig);
      }
    }, 50);
    child.on('close', () => clearInterval(poll));
  };
}

describe('darray-run launcher', function () {
  this.timeout(120_000);

  it('a rank that throws: exit 1, the rank is named, the others are stopped, nothing is left', async () => {
    const r = await launch(['-n', '3', fixture('rank.ts'), 'throw', '1']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /rank 1 \(host localhost, pid \d+\) exited with code 1/);
    assert.match(r.stderr, /\[1\] Error: fixture failure on rank 1/);
    assert.match(r.stderr, /stopping the other 2 ranks/);
    await assertNothingLeft(reports(r.stdout), 3);
  });

  it('a rank that calls process.exit(3): exit 3', async () => {
    const r = await launch(['-n', '3', fixture('rank.ts'), 'exit3', '2']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /rank 2 \(host localhost, pid \d+\) exited with code 3/);
    assert.doesNotMatch(r.stderr, /rank [01] .*exited/, 'ranks stopped by the launcher are not reported as failures');
    await assertNothingLeft(reports(r.stdout), 3);
  });

  it('a rank killed by SIGKILL: exit 137 (128+9)', async () => {
    const r = await launch(['-n', '2', fixture('rank.ts'), 'sigkill', '0']);
    assert.equal(r.code, 128 + 9, r.stderr);
    assert.match(r.stderr, /rank 0 \(host localhost, pid \d+\) was killed by SIGKILL/);
    await assertNothingLeft(reports(r.stdout), 2);
  });

  it('a job that hangs: --timeout asks every rank what it is blocked in, then exits 110', async () => {
    const r = await launch(['--timeout', '5', '-n', '2', fixture('rank.ts'), 'hang', '0']);
    assert.equal(r.code, 110, r.stderr);
    assert.match(r.stderr, /timeout: the job ran longer than 5 s/);
    for (const rank of [0, 1]) assert.match(r.stderr, new RegExp(`^\\[${rank}\\] blocked in fixture-wait \\(rank ${rank} of 2\\)$`, 'm'));
    assert.ok(r.ms < 5000 + 1000 + 2000 + 10_000, `stopped promptly (${r.ms} ms)`);
    await assertNothingLeft(reports(r.stdout), 2);
  });

  it('SIGTERM to the launcher stops every rank: exit 143', async () => {
    const r = await launch(['-n', '2', fixture('rank.ts'), 'hang', '0'], { started: signalWhenReady(2, 'SIGTERM') });
    assert.equal(r.code, 128 + 15, r.stderr);
    assert.match(r.stderr, /received SIGTERM; stopping all ranks/);
    await assertNothingLeft(reports(r.stdout), 2);
  });

  it('a launcher killed by SIGKILL: its watchdog stops every rank and removes the run dir', async () => {
    const r = await launch(['-n', '2', fixture('rank.ts'), 'hang', '0'], { started: signalWhenReady(2, 'SIGKILL') });
    assert.equal(r.signal, 'SIGKILL');
    // The watchdog gives ranks the usual 2 s grace after SIGTERM before it kills and cleans up.
    await assertNothingLeft(reports(r.stdout), 2, 10_000);
  });

  it('a clean job exits 0 and still leaves no helper process behind', async () => {
    const r = await launch(['-n', '2', fixture('rank.ts'), 'ok', '0']);
    assert.equal(r.code, 0, r.stderr);
    await assertNothingLeft(reports(r.stdout), 2);
  });

  it('gives each rank its identity, -x variables and the program arguments untouched', async () => {
    const r = await launch(['-n', '3', '-x', 'LAUNCHER_TEST_A=a=b c', '-x', 'LAUNCHER_TEST_B', fixture('env.ts'), '-n', '5', '--timeout'],
      { env: { LAUNCHER_TEST_B: 'from launcher', OPENBLAS_NUM_THREADS: undefined, DARRAY_RANK: '77' } });
    assert.equal(r.code, 0, r.stderr);
    const envs = [...r.stdout.matchAll(/^\[(\d+)\] env (.*)$/gm)].map((m) => ({ tag: Number(m[1]), ...JSON.parse(m[2]) }));
    assert.equal(envs.length, 3);
    const jobId = envs[0].DARRAY_JOB_ID;
    assert.match(jobId, /^[0-9a-f]{16}$/);
    const threads = String(Math.max(1, Math.floor(os.availableParallelism() / 3)));
    for (const e of envs) {
      assert.equal(e.DARRAY_RANK, String(e.tag));
      assert.equal(e.DARRAY_SIZE, '3');
      assert.equal(e.DARRAY_LOCAL_RANK, String(e.tag));
      assert.equal(e.DARRAY_LOCAL_SIZE, '3');
      assert.equal(e.DARRAY_JOB_ID, jobId);
      assert.equal(e.DARRAY_TRANSPORT, 'ipc');
      assert.equal(e.DARRAY_ROOT, `ipc://${e.DARRAY_RUNDIR}/root.sock`);
      assert.equal(e.rundirMode, '700');
      assert.equal(e.OPENBLAS_NUM_THREADS, threads);
      assert.equal(e.LAUNCHER_TEST_A, 'a=b c');
      assert.equal(e.LAUNCHER_TEST_B, 'from launcher');
      assert.deepEqual(e.argv, ['-n', '5', '--timeout']);
    }
    assert.equal(fs.existsSync(envs[0].DARRAY_RUNDIR), false);
  });

  it('leaves OPENBLAS_NUM_THREADS to the user when set, and --no-tag-output prints bare lines', async () => {
    const r = await launch(['--no-tag-output', '-n', '1', '-x', 'OPENBLAS_NUM_THREADS=7', fixture('env.ts')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^env \{.*"OPENBLAS_NUM_THREADS":"7"/m);
  });

  it('--trace gives ranks a trace directory next to the trace file', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-test-'));
    try {
      const r = await launch(['-n', '1', '--trace', path.join(tmp, 'run.json'), fixture('env.ts')]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`"DARRAY_TRACE_DIR":"${tmp}/run\\.json\\.parts"`));
      assert.ok(fs.statSync(path.join(tmp, 'run.json.parts')).isDirectory());
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('the SPMD driver runs each header combination, honours SPMD_RANKS, skips _ files, fails with the output tail', async () => {
    const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
    const out = await new Promise<{ code: number | null; text: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [mocha, '--no-config', '--node-option', 'import=tsx', '--extension', 'ts',
        '--timeout', '60000', 'test/spmd.test.ts'], { cwd: root, env: { ...process.env, SPMD_DIR: fixture('spmd'), SPMD_RANKS: '2' },
        stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (b: Buffer) => { text += b.toString(); });
      child.stderr.on('data', (b: Buffer) => { text += b.toString(); });
      const guard = setTimeout(() => child.kill('SIGKILL'), 100_000);
      child.on('error', reject);
      child.on('close', (code) => { clearTimeout(guard); resolve({ code, text }); });
    });
    assert.equal(out.code, 1, out.text);
    for (const title of ['hello.ts at 2 ranks with LAUNCHER_TEST_A=x', 'hello.ts at 2 ranks with LAUNCHER_TEST_A=y']) {
      assert.match(out.text, new RegExp(`✔ ${title.replace(/\./g, '\\.')}`), out.text);
    }
    assert.match(out.text, /2 passing/);
    assert.doesNotMatch(out.text, /at 1 rank/, 'SPMD_RANKS=2 leaves out the 1-rank runs');
    assert.match(out.text, /1 failing/);
    assert.match(out.text, /fails\.ts at 2 ranks:\s+Error: darray-run --timeout 30 -n 2 \S+fails\.ts exited with code 4; output tail:/);
    assert.match(out.text, /\[1\] fixture: rank 1 reports a wrong result/);
    assert.doesNotMatch(out.text, /_helper/);
  });

  it('keeps every line whole and in order when two ranks print many long lines', async () => {
    const count = 400;
    const r = await launch(['-n', '2', fixture('lines.ts'), String(count)]);
    assert.equal(r.code, 0, r.stderr);
    const next = [0, 0];
    const tails = new Set<number>();
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const tail = /^\[(\d)\] (\d):tail-without-newline$/.exec(line);
      if (tail) { assert.equal(tail[1], tail[2]); tails.add(Number(tail[1])); continue; }
      const m = /^\[(\d)\] (\d):(\d+):([a-z]+)$/.exec(line);
      assert.ok(m, `malformed line: ${line.slice(0, 80)}...`);
      const [rank, seq] = [Number(m[1]), Number(m[3])];
      assert.equal(Number(m[2]), rank, 'line tagged with the rank that printed it');
      assert.equal(seq, next[rank]++, `rank ${rank} lines in order`);
      assert.equal(m[4], String.fromCharCode(97 + (seq % 26)).repeat(1000 + (seq % 7) * 300));
    }
    assert.deepEqual(next, [count, count]);
    assert.deepEqual([...tails].sort(), [0, 1], 'partial last lines are flushed at exit');
  });

  describe('remote ranks through a launch agent', () => {
    let tmp: string;
    beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-test-')); });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const hostfile = () => {
      const file = path.join(tmp, 'hosts');
      fs.writeFileSync(file, '# test hosts\nlocalhost slots=1\n127.0.0.2 slots=2\n');
      return file;
    };

    it('starts non-local hosts through the agent, with tcp and a tcp root', async () => {
      const log = path.join(tmp, 'agent.log');
      const r = await launch(['--hostfile', hostfile(), '--launch-agent', fakeAgent, fixture('env.ts'), 'x y'],
        { env: { FAKE_AGENT_LOG: log } });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean), ['127.0.0.2', '127.0.0.2']);
      const envs = [...r.stdout.matchAll(/^\[(\d+)\] env (.*)$/gm)].map((m) => JSON.parse(m[2]));
      envs.sort((a, b) => a.DARRAY_RANK - b.DARRAY_RANK);
      assert.equal(envs.length, 3);
      for (const e of envs) {
        assert.equal(e.DARRAY_TRANSPORT, 'tcp');
        assert.match(e.DARRAY_ROOT, /^tcp:\/\/[^:]+:\d+$/);
        assert.equal(e.DARRAY_ROOT, envs[0].DARRAY_ROOT);
        assert.deepEqual(e.argv, ['x y']);
      }
      assert.deepEqual(envs.map((e) => [e.DARRAY_LOCAL_RANK, e.DARRAY_LOCAL_SIZE]), [['0', '1'], ['0', '2'], ['1', '2']]);
      assert.deepEqual(envs.slice(1).map((e) => e.DARRAY_HOST), ['127.0.0.2', '127.0.0.2']);
      assert.equal(envs[1].OPENBLAS_NUM_THREADS, '1');
    });

    it('a failing remote rank stops the job: its code, its host named, nothing left', async () => {
      const r = await launch(['--hostfile', hostfile(), '--launch-agent', fakeAgent, '-x', `FIXTURE_READY_DIR=${tmp}`,
        fixture('rank.ts'), 'exit3', '2']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /rank 2 \(host 127\.0\.0\.2, pid \d+\) exited with code 3/);
      await assertNothingLeft(reports(r.stdout), 3);
    });

    it('--timeout reaches remote ranks through the agent: dump, then exit 110', async () => {
      const r = await launch(['--timeout', '5', '--hostfile', hostfile(), '--launch-agent', fakeAgent,
        '-x', `FIXTURE_READY_DIR=${tmp}`, fixture('rank.ts'), 'hang', '0']);
      assert.equal(r.code, 110, r.stderr);
      for (const rank of [0, 1, 2]) assert.match(r.stderr, new RegExp(`^\\[${rank}\\] blocked in fixture-wait`, 'm'));
      await assertNothingLeft(reports(r.stdout), 3);
    });
  });

  it('the darray-run bin works from any directory and prints its help', async () => {
    const bin = path.join(root, 'scripts', 'darray-run.mjs');
    const run = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn(bin, args, { cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
      child.stderr.on('data', (b: Buffer) => { out += b.toString(); });
      const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (code) => { clearTimeout(guard); resolve({ code, out }); });
    });
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /^Usage: darray-run \[options\] PROGRAM/);
    assert.match(help.out, /--timeout SECONDS/);
    const job = await run(['-n', '2', fixture('env.ts')]);
    assert.equal(job.code, 0, job.out);
    assert.equal((job.out.match(/^\[[01]\] env /gm) ?? []).length, 2);
  });

  // The parser's own errors are unit-tested (test/unit/launcher-args.test.ts); these check the process.
  describe('usage errors exit 2 with a clear message', () => {
    const cases: [string[], RegExp][] = [
      [['-n', '0', fixture('env.ts')], /-n needs a positive integer, got '0'/],
      [['-n', '2', 'test/fixtures/launcher/missing.ts'], /program not found: test\/fixtures\/launcher\/missing\.ts/],
      [['-n', '2', 'no-such-command-here'], /program 'no-such-command-here' not found in PATH/],
    ];
    for (const [args, message] of cases) {
      it(args.join(' '), async () => {
        const r = await launch(args);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
      });
    }

    it('more ranks than hostfile slots needs --oversubscribe', async () => {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'launcher-test-'));
      try {
        const file = path.join(tmp, 'hosts');
        fs.writeFileSync(file, 'localhost slots=1\n');
        const r = await launch(['-n', '2', '--hostfile', file, fixture('env.ts')]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /2 ranks requested but the hostfile has only 1 slots; use --oversubscribe/);
        const ok = await launch(['-n', '2', '--oversubscribe', '--hostfile', file, fixture('env.ts')]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.equal((ok.stdout.match(/"OPENBLAS_NUM_THREADS":"1"/g) ?? []).length, 2);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    });
  });
});
