// Unit tests of environment detection (src/comm/env.ts): our launcher, Open MPI, Slurm, PMI, DARRAY_ROOT
// and the lone process, plus clear errors for bad variables.
import assert from 'node:assert/strict';
import { CommError } from '../../src/errors.js';
import { detectEnv, safeJobDir } from '../../src/comm/env.js';

const sys = { uid: 1000, tmpdir: '/tmp', hostname: 'node7' };

describe('comm env detection', () => {
  it('a process with no variables is rank 0 of 1', () => {
    const e = detectEnv({}, sys);
    assert.equal(e.source, 'lone');
    assert.equal(e.rank, 0);
    assert.equal(e.size, 1);
    assert.equal(e.root, '');
    assert.equal(e.peerTimeoutMs, 10000);
  });

  it('reads our launcher variables', () => {
    const e = detectEnv({
      DARRAY_RANK: '2', DARRAY_SIZE: '4', DARRAY_JOB_ID: 'abc123', DARRAY_ROOT: 'ipc:///run/d/abc/root.sock',
      DARRAY_RUNDIR: '/run/d/abc', DARRAY_LOCAL_RANK: '2', DARRAY_LOCAL_SIZE: '4', DARRAY_TRANSPORT: 'ipc',
      DARRAY_PEER_TIMEOUT_MS: '1500',
    }, sys);
    assert.deepEqual(
      [e.source, e.rank, e.size, e.jobId, e.transport, e.rundir, e.ownsRundir, e.localRank, e.localSize, e.peerTimeoutMs],
      ['darray', 2, 4, 'abc123', 'ipc', '/run/d/abc', false, 2, 4, 1500],
    );
  });

  it('tcp jobs advertise DARRAY_HOST, or loopback for a loopback root, or the hostname', () => {
    const v = { DARRAY_RANK: '1', DARRAY_SIZE: '2', DARRAY_JOB_ID: 'j', DARRAY_ROOT: 'tcp://127.0.0.1:5555' };
    assert.equal(detectEnv(v, sys).host, '127.0.0.1');
    assert.equal(detectEnv(v, sys).transport, 'tcp');
    assert.equal(detectEnv(v, sys).rundir, '');
    assert.equal(detectEnv({ ...v, DARRAY_ROOT: 'tcp://head:5555' }, sys).host, 'node7');
    assert.equal(detectEnv({ ...v, DARRAY_ROOT: 'tcp://head:5555', DARRAY_HOST: '10.0.0.9' }, sys).host, '10.0.0.9');
  });

  it('Open MPI: rank and size from OMPI_COMM_WORLD_*, rendezvous under $TMPDIR/darray-<uid>/<job>', () => {
    const e = detectEnv({
      OMPI_COMM_WORLD_RANK: '1', OMPI_COMM_WORLD_SIZE: '3', OMPI_COMM_WORLD_LOCAL_RANK: '1',
      OMPI_COMM_WORLD_LOCAL_SIZE: '3', PMIX_NAMESPACE: 'prterun-host-4242@1',
    }, sys);
    assert.equal(e.source, 'ompi');
    assert.equal(e.rank, 1);
    assert.equal(e.size, 3);
    assert.match(e.root, /^ipc:\/\/\/tmp\/darray-1000\/[A-Za-z0-9._-]+\/root\.sock$/);
    assert.equal(e.rundir, e.root.slice(6, -'/root.sock'.length));
    assert.equal(e.ownsRundir, true);
    // every rank of the job computes the same place
    const e0 = detectEnv({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '3', PMIX_NAMESPACE: 'prterun-host-4242@1' }, sys);
    assert.equal(e0.root, e.root);
    // another job does not
    const other = detectEnv({ OMPI_COMM_WORLD_RANK: '0', OMPI_COMM_WORLD_SIZE: '3', PMIX_NAMESPACE: 'prterun-host-4243@1' }, sys);
    assert.notEqual(other.root, e.root);
  });

  it('Slurm with DARRAY_ROOT uses tcp to rank 0', () => {
    const e = detectEnv({ SLURM_PROCID: '5', SLURM_NTASKS: '64', SLURM_JOB_ID: '99', DARRAY_ROOT: 'tcp://head:7000' }, sys);
    assert.deepEqual([e.source, e.rank, e.size, e.transport, e.root, e.host], ['slurm', 5, 64, 'tcp', 'tcp://head:7000', 'node7']);
  });

  it('PMI variables are read when nothing else is set', () => {
    const e = detectEnv({ PMI_RANK: '0', PMI_SIZE: '2', PMI_JOBID: 'kvs_1' }, sys);
    assert.deepEqual([e.source, e.rank, e.size], ['pmi', 0, 2]);
  });

  it('our launcher wins over Open MPI variables', () => {
    const e = detectEnv({ DARRAY_RANK: '0', DARRAY_SIZE: '1', OMPI_COMM_WORLD_RANK: '3', OMPI_COMM_WORLD_SIZE: '4' }, sys);
    assert.equal(e.source, 'darray');
    assert.equal(e.size, 1);
  });

  it('bad variables give CommError naming the variable', () => {
    const bad = (vars: Record<string, string>, re: RegExp) =>
      assert.throws(() => detectEnv(vars, sys), (e: unknown) => e instanceof CommError && re.test((e as Error).message));
    bad({ DARRAY_RANK: 'x', DARRAY_SIZE: '2', DARRAY_ROOT: 'ipc:///a/b' }, /DARRAY_RANK="x"/);
    bad({ DARRAY_RANK: '2', DARRAY_SIZE: '2', DARRAY_ROOT: 'ipc:///a/b' }, /rank 2 is not below the job size 2/);
    bad({ DARRAY_RANK: '0', DARRAY_SIZE: '2' }, /DARRAY_ROOT is missing/);
    bad({ DARRAY_RANK: '0', DARRAY_SIZE: '2', DARRAY_ROOT: 'http://x' }, /must start with ipc:\/\/ or tcp:\/\//);
    bad({ DARRAY_RANK: '0', DARRAY_SIZE: '0' }, /DARRAY_SIZE="0"/);
    bad({ PMI_RANK: '0', PMI_SIZE: '2' }, /no job id/);
    bad({ DARRAY_PEER_TIMEOUT_MS: '-5' }, /DARRAY_PEER_TIMEOUT_MS/);
  });

  it('job directories are safe and short', () => {
    assert.equal(safeJobDir('abc'), 'abc');
    assert.equal(safeJobDir('a/b c'), 'a_b_c');
    assert.equal(safeJobDir('..'), safeJobDir('..'));
    assert.notEqual(safeJobDir('..'), '..');
    assert.equal(safeJobDir('x'.repeat(200)).length, 24);
  });
});
