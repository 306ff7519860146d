// Unit tests of the ZeroMQ transport with two ranks inside one process: ordering of concurrent mixed-size sends
// (copied and acknowledged), acknowledgement of large sends without a posted receive, loss of a peer that vanishes without
// a goodbye, an orderly close, and refusals of malformed or foreign mail that name the sender.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as zmq from 'zeromq';
import { PeerFailedError, ProtocolError } from '../../src/errors.js';
import { detectEnv } from '../../src/comm/env.js';
import { COPY_BELOW, Transport, routingIdText, senderRank } from '../../src/comm/transport.js';
import { encodeHeader, jobHash, Kind } from '../../src/comm/wire.js';

const sys = { uid: process.getuid?.() ?? 0, tmpdir: tmpdir(), hostname: 'localhost' };

/** The raw data socket rank `t` sends to `peer` on, bypassing its transport (to forge and garble mail). */
function rawDataSocket(t: Transport, peer: number): zmq.Dealer {
  return (t as unknown as { peers: { data: { sock: zmq.Dealer } }[] }).peers[peer].data.sock;
}

/** Waits (bounded) until `t` refuses a message other than `before`, and returns that refusal. */
async function nextRefusal(t: Transport, before: Error | undefined): Promise<Error> {
  for (const until = Date.now() + 5000; Date.now() < until; await new Promise((r) => setTimeout(r, 10))) {
    if (t.lastRefusal && t.lastRefusal !== before) return t.lastRefusal;
  }
  throw new Error('no message was refused within 5 s');
}

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

  it('refuses a message whose header cannot be read with a ProtocolError naming the sending rank', async () => {
    const [a, b] = await pair(dir);
    const quiet = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write; // the refusals' log lines
    try {
      await rawDataSocket(a, 1).send([Buffer.from('not a header')]);
      let e = await nextRefusal(b, undefined);
      assert.ok(e instanceof ProtocolError, String(e));
      assert.equal(e.peer, 0);
      assert.match(e.message, /rank 1, receive, peer 0\] malformed message: header is not msgpack/);
      // A well-formed header that claims another sender is refused naming the socket's sender, not the claim.
      const forged = encodeHeader({ job: jobHash('unit'), epoch: 0, ctx: 0, src: 5, tag: 9, seq: 0, kind: Kind.Value, dtype: 0, length: 1, nframes: 1 });
      await rawDataSocket(a, 1).send([forged, Buffer.from([0x2a])]);
      e = await nextRefusal(b, e);
      assert.ok(e instanceof ProtocolError && e.peer === 0 && /claims source 5/.test(e.message), String(e));
      // A socket that is no rank of the job is named by its routing id.
      const stranger = new zmq.Dealer({ linger: 0 });
      stranger.connect(`ipc://${dir}/1d.sock`);
      await stranger.send([Buffer.from('not a header')]);
      e = await nextRefusal(b, e);
      stranger.close();
      assert.ok(e instanceof ProtocolError && e.peer === undefined, String(e));
      assert.match(e.message, /not a rank of this job \(routing id 0x[0-9a-f]+\)/);
    } finally {
      process.stderr.write = quiet;
    }
    // The garbled and forged mail cost nothing: rank 0's real messages still arrive, in order.
    await a.send(1, 0, 4, 'after', 'send');
    assert.equal((await b.recv(0, 0, 4, 'recv')).data, 'after');
    await Promise.all([a.close(), b.close()]);
  });

  it('reads the sending rank from a routing id, and shows any other id readably', () => {
    assert.equal(senderRank(Buffer.from('3'), 4, 0), 3);
    assert.equal(senderRank(Buffer.from('12'), 13, 0), 12);
    for (const id of ['4', '0', '03', '-1', '1a', '', '12345678901']) assert.equal(senderRank(Buffer.from(id), 4, 0), -1, id);
    assert.equal(senderRank(Buffer.from([0, 0x80, 0, 0x41, 0xa7]), 4, 0), -1);
    assert.equal(routingIdText(Buffer.from([0, 0x80, 0, 0x41, 0xa7])), '0x00800041a7');
    assert.equal(routingIdText(Buffer.from('ghost')), '"ghost"');
    assert.equal(routingIdText(undefined), '(none)');
  });
});
