// Unit tests of the launcher's smaller helpers: shell quoting, rank variables, exit wording, SPMD headers.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEnding, exitStatus } from '../../scripts/launcher/describe.js';
import { blasThreads, localRankEnv, rankVariables, resolveExports, tcpUrl, type JobEnv } from '../../scripts/launcher/env.js';
import { placeLocal, placeRanks, parseHostfile } from '../../scripts/launcher/hosts.js';
import { programCommand, RANK_NODE_FLAGS } from '../../scripts/launcher/program.js';
import { parseSpmdHeader } from '../../scripts/launcher/spmd-header.js';
import { shellJoin, shellSplit } from '../../scripts/launcher/shell.js';

describe('launcher helpers', () => {
  it('shell split/join round-trips awkward words', () => {
    const words = ['env', "it's", 'a b', '$HOME', '"q"', '', 'back\\slash', 'x=1'];
    assert.deepEqual(shellSplit(shellJoin(words)), words);
    assert.deepEqual(shellSplit(`ssh -o "Opt=a b" -p 22  'x y'`), ['ssh', '-o', 'Opt=a b', '-p', '22', 'x y']);
    assert.throws(() => shellSplit('ssh "open'), /unterminated " quote/);
  });

  it('runs node programs with the rank V8 flags before the loader, other programs as they are', () => {
    const dir = mkdtempSync(join(tmpdir(), 'darray-prog-'));
    try {
      for (const name of ['p.ts', 'p.mjs']) writeFileSync(join(dir, name), '');
      const ts = programCommand('p.ts', ['a'], dir);
      assert.deepEqual(ts.slice(0, 1 + RANK_NODE_FLAGS.length), [process.execPath, ...RANK_NODE_FLAGS]);
      assert.equal(ts[1 + RANK_NODE_FLAGS.length], '--import');
      assert.deepEqual(ts.slice(-2), [join(dir, 'p.ts'), 'a']);
      assert.deepEqual(programCommand('p.mjs', [], dir), [process.execPath, ...RANK_NODE_FLAGS, join(dir, 'p.mjs')]);
      assert.deepEqual(programCommand('/bin/true', ['x'], dir), ['/bin/true', 'x']);
      assert.ok(RANK_NODE_FLAGS.includes('--initial-old-space-size=64'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const job: JobEnv = { jobId: 'abcd', size: 4, root: 'tcp://h0:5000', rundir: '/tmp/darray-x', transport: 'tcp', exports: { A: '1' } };

  it('gives ranks the seam variables; launcher variables win over -x and over inherited ones', () => {
    const [p] = placeRanks(4, parseHostfile('h0 slots=2\nh1 slots=2'), false).slice(3);
    const v = rankVariables({ ...job, exports: { A: '1', DARRAY_RANK: '9' } }, p, {});
    assert.deepEqual(v, {
      A: '1', OPENBLAS_NUM_THREADS: '1', UV_THREADPOOL_SIZE: '4', DARRAY_BIND: 'core', DARRAY_RANK: '3', DARRAY_SIZE: '4', DARRAY_JOB_ID: 'abcd',
      DARRAY_ROOT: 'tcp://h0:5000', DARRAY_RUNDIR: '/tmp/darray-x/r3', DARRAY_LOCAL_RANK: '1',
      DARRAY_LOCAL_SIZE: '2', DARRAY_TRANSPORT: 'tcp', DARRAY_HOST: 'h1',
    });
    const local = localRankEnv({ ...job, transport: 'ipc' }, placeLocal(1)[0], { PATH: '/bin', DARRAY_HOST: 'stale', DARRAY_BACKEND: 'cpu' });
    assert.equal(local.DARRAY_HOST, undefined, 'a stale DARRAY_HOST is not inherited by an ipc job');
    assert.equal(local.DARRAY_BACKEND, 'cpu');
    assert.equal(local.PATH, '/bin');
    assert.equal(local.DARRAY_RUNDIR, '/tmp/darray-x');
  });

  it('BLAS threads fill the cores without exceeding them; the user may override', () => {
    const [p] = placeRanks(3, parseHostfile('h slots=8'), false);
    assert.equal(blasThreads(p), 2);
    assert.equal(blasThreads({ ...p, localSize: 9 }), 1);
    assert.equal(rankVariables(job, p, { OPENBLAS_NUM_THREADS: '5' }).OPENBLAS_NUM_THREADS, '5');
    assert.equal(rankVariables({ ...job, exports: { OPENBLAS_NUM_THREADS: '3' } }, p, {}).OPENBLAS_NUM_THREADS, '3');
  });

  it('binds ranks to cores by default; --bind-to wins over -x DARRAY_BIND, which wins over the environment', () => {
    const [p] = placeRanks(2, parseHostfile('h slots=2'), false);
    assert.equal(rankVariables(job, p, {}).DARRAY_BIND, 'core');
    assert.equal(rankVariables(job, p, { DARRAY_BIND: 'none' }).DARRAY_BIND, 'none');
    assert.equal(rankVariables({ ...job, exports: { DARRAY_BIND: 'core' } }, p, { DARRAY_BIND: 'none' }).DARRAY_BIND, 'core');
    assert.equal(rankVariables({ ...job, exports: { DARRAY_BIND: 'core' }, bind: 'none' }, p, {}).DARRAY_BIND, 'none');
  });

  it('sizes the libuv pool that runs kernels to the cores a rank owns, plus two for file I/O', () => {
    const [p] = placeRanks(1, parseHostfile('h slots=16'), false);
    assert.equal(rankVariables(job, p, {}).UV_THREADPOOL_SIZE, '18');
    const [q] = placeRanks(2, parseHostfile('h slots=2'), false);
    assert.equal(rankVariables(job, q, {}).UV_THREADPOOL_SIZE, '4');
    assert.equal(rankVariables(job, p, { UV_THREADPOOL_SIZE: '7' }).UV_THREADPOOL_SIZE, '7');
  });

  it('-x VAR takes the launcher value and names a missing one', () => {
    assert.deepEqual(resolveExports([{ name: 'X' }, { name: 'Y', value: '' }], { X: 'x' }), { X: 'x', Y: '' });
    assert.throws(() => resolveExports([{ name: 'NOPE' }], {}), /-x NOPE: NOPE is not set/);
    assert.equal(tcpUrl('fe80::1', 7), 'tcp://[fe80::1]:7');
  });

  it('words endings and exit statuses as a shell would', () => {
    assert.equal(exitStatus({ code: 3, signal: null }), 3);
    assert.equal(exitStatus({ code: null, signal: 'SIGKILL' }), 137);
    assert.equal(exitStatus({ code: null, signal: null, error: 'spawn x ENOENT' }), 127);
    assert.equal(describeEnding({ code: null, signal: 'SIGSEGV' }), 'was killed by SIGSEGV');
    assert.equal(describeEnding({ code: 137, signal: null }), 'exited with code 137 (128+SIGKILL)');
    assert.equal(describeEnding({ code: 1, signal: null }), 'exited with code 1');
  });

  it('reads SPMD headers, with defaults and clear errors', () => {
    assert.deepEqual(parseSpmdHeader('// plain program\n'), { ranks: [1, 2, 3, 4], timeout: 180 });
    assert.deepEqual(parseSpmdHeader('// about\n// spmd: ranks=1,2,3,4,5 timeout=120 env=DARRAY_BACKEND=cpu|opencl\n'),
      { ranks: [1, 2, 3, 4, 5], timeout: 120, env: { name: 'DARRAY_BACKEND', values: ['cpu', 'opencl'] } });
    assert.deepEqual(parseSpmdHeader('1\n2\n3\n4\n5\n// spmd: ranks=2\n').ranks, [1, 2, 3, 4], 'only the first 5 lines count');
    assert.throws(() => parseSpmdHeader('// spmd: ranks=1,x', 'f.ts'), /f\.ts: bad spmd header .*ranks must be a comma list/);
    assert.throws(() => parseSpmdHeader('// spmd: timeout=-1', 'f.ts'), /timeout must be a positive number/);
    assert.throws(() => parseSpmdHeader('// spmd: color=red', 'f.ts'), /unknown key 'color'/);
  });
});
