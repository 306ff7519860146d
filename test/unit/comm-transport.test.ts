// Unit tests of the ZeroMQ transport with two ranks inside one process: ordering of concurrent mixed-size sends
// (copied and acknowledged), acknowledgement of large sends without a posted receive, loss of a peer that vanishes without
// a goodbye, and an orderly close.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PeerFailedError } from '../../src/errors.js';
import { detectEnv } from '../../src/comm/env.js';
import { COPY_BELOW, Transport } from '../../src/comm/transport.js';

const sys = { uid: process.getuid?.() ?? 0, tmpdir: tmpdir(), hostname: 'localhost' };

async function pair(dir: string, peerTimeoutMs = 2000): Promise<[Transport, Transport]> {
  const env = (rank: number) =>
    detectEnv({
      DARRAY_RANK: String(rank), DARRAY_SIZE: '2', DARRAY_JOB_ID: 'unit', DARRAY_ROOT: `ipc://${dir}/root.sock`,
      DARRAY_RUNDIR: dir, DARRAY_PEER_TIMEOUT_MS: String(peerTimeoutMs), DARRAY_CONNECT_TIMEOUT_MS: '20000',
    }, sys);
  const [a, b] = await Promise.all([Transport.open(env(0)), Transport.open(env(1))]);
  return [a, b];
}

describe('comm transport (two ranks in one process)', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'darray-unit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps per-tag order for thousands of concurrent sends of mixed sizes', async () => {
    const [a, b] = await pair(dir);
    const N = 2000;
    const sizes = [0, 3, 200, COPY_BELOW + 8, 1 << 20];
    const sends: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const n = sizes[i % sizes.length] / 4;
      sends.push(a.send(1, 0, i % 2, new Int32Array(Math.floor(n)).fill(i), 'send')); // not awaited: all in flight
    }
    const next = [0, 1];
    for (let k = 0; k < N; k++) {
      const tag = k < N / 2 ? 1 : 0; // drain tag 1 first: tag 0 waits in the unexpected queue meanwhile
      const m = await b.recv(0, 0, tag, 'recv');
      const i = next[tag];
      next[tag] += 2;
      const arr = m.data as Int32Array;
      assert.equal(arr.length, Math.floor(sizes[i % sizes.length] / 4));
      if (arr.length) assert.equal(arr[0], i, `tag ${tag}: message #${arr[0]} arrived where #${i} was due`);
    }
    await Promise.all(sends);
    await Promise.all([a.close(), b.close()]);
  });

  it('large sends are acknowledged by the receiving transport before any receive is posted', async () => {
    const [a, b] = await pair(dir);
    // Under the unexpected-mail limit the receiver takes data off the socket and acks on its own, so a sender
    // is never blocked by an unposted receive (test/spmd/comm-p2p-large.ts covers the limit itself).
    await a.send(1, 0, 5, new Float64Array(1 << 20).fill(2), 'send');
    await a.send(1, 0, 6, new Float64Array(4), 'send'); // copied: complete once zmq has it
    const m = (await b.recv(0, 0, 5, 'recv')).data as Float64Array;
    assert.equal(m.length, 1 << 20);
    assert.equal(m[12345], 2);
    await Promise.all([a.close(), b.close()]);
  });

  it('a peer that vanishes without a goodbye fails pending and later operations within the bound', async () => {
    const [a, b] = await pair(dir, 1000);
    const pending = a.recv(0, 1, 3, 'recv');
    const t0 = Date.now();
    b.abort();
    await assert.rejects(pending, (e: unknown) => e instanceof PeerFailedError && e.peer === 1 && /peer 1 failed/.test(e.message));
    assert.ok(Date.now() - t0 < 2000, `loss noticed after ${Date.now() - t0} ms`);
    await assert.rejects(a.send(1, 0, 3, 'x', 'send'), PeerFailedError);
    await a.close(); // finalize does not wait for a lost peer
  });

  it('an orderly close of both ranks removes their socket files', async () => {
    const [a, b] = await pair(dir);
    await a.send(1, 0, 0, { hello: 1 }, 'send');
    assert.deepEqual((await b.recv(0, 0, 0, 'recv')).data, { hello: 1 });
    await Promise.all([a.close(), b.close()]);
    assert.deepEqual(readdirSync(dir), []);
  });
});
