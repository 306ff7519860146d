// Issue 6, item 7, second half: a tcp job is CURVE-secured with per-job keys and a ZAP allow-list. While ranks 1
// and 2 exchange messages, rank 0 attacks rank 1's listening ports with an idle raw TCP connection, a client
// without keys, one with foreign keys, and one with a foreign client key but the job's true server key (what
// CURVE alone would let in). Nothing of theirs may arrive; the real traffic must go on. Prints "curve:" lines.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import * as zmq from 'zeromq';
import { finalize, init } from '../../../src/comm/index.js';
import { clientOptions, makeJobKeys, zapStats, type JobKeys } from '../../../src/comm/security.js';
import { encodeBody, encodeHeader, jobHash, type Header } from '../../../src/comm/wire.js';

// The key file is read (and removed) by init: look at it first, as an attacker on this host with our uid could.
const keyFile = process.env.DARRAY_KEYFILE ?? '';
const myKeys = keyFile && existsSync(keyFile) ? (JSON.parse(readFileSync(keyFile, 'utf8')) as JobKeys) : undefined;
const comm = await init();
const { rank, size } = comm;
assert.ok(size >= 3, 'curve runs at 3 or more ranks');
assert.equal(process.env.DARRAY_TRANSPORT, 'tcp', 'curve needs a tcp job (a hostfile with non-local hosts)');
assert.ok(myKeys, `rank ${rank}: no key file from the launcher (DARRAY_KEYFILE=${keyFile})`);
assert.equal(existsSync(keyFile), false, 'the key file must be gone once the rank has read it');
const ATTACK_TAG = 77;
const ROUNDS = 200;

const pids = await comm.allgather(process.pid);
if (rank === 0) {
  const ports = execFileSync('ss', ['-H', '-lntp'], { encoding: 'utf8' }).split('\n')
    .filter((l) => l.includes(`pid=${pids[1]},`)).map((l) => l.trim().split(/\s+/)[3]);
  assert.ok(ports.length >= 2, `rank 1 listens on ${ports.length} tcp ports`);
  const head: Header = { job: jobHash(process.env.DARRAY_JOB_ID ?? ''), epoch: 0, ctx: 0, src: 0, tag: ATTACK_TAG, seq: 0, kind: 0, dtype: 0, length: 0, nframes: 1 };
  const body = encodeBody('forged');
  const frames = [encodeHeader({ ...head, kind: body.kind, length: body.length }), body.frames[0]];
  const stranger = makeJobKeys(1)[0];
  const attackers: { name: string; opts: object }[] = [
    { name: 'no keys', opts: {} },
    { name: 'foreign keys', opts: clientOptions(stranger) },
    { name: 'foreign client key, true server key', opts: clientOptions({ ...stranger, serverPublic: myKeys!.serverPublic }) },
  ];
  const raws = ports.map((hp) => net.connect(Number(hp.replace(/^.*:/, '')), hp.replace(/:\d+$/, '')).on('error', () => undefined));
  const socks: zmq.Dealer[] = [];
  let queued = 0;
  for (const a of attackers) {
    for (const hp of ports) {
      const s = new zmq.Dealer({ linger: 0, sendTimeout: 200, routingId: '0', ...a.opts });
      socks.push(s);
      s.connect(`tcp://${hp}`);
      for (let k = 0; k < 3; k++) await s.send(frames).then(() => queued++, () => undefined);
    }
  }
  await comm.barrier(); // attacks are under way
  await comm.barrier(); // ranks 1 and 2 are done
  for (const r of raws) r.destroy();
  for (const s of socks) s.close();
  console.log(`curve: rank 0 attacked ${ports.length} ports of rank 1 with ${attackers.length} kinds of client and ${raws.length} idle raw connections (${queued} forged messages queued by zmq)`);
} else {
  await comm.barrier();
  const stray = comm.recv(0, ATTACK_TAG).then((v) => `delivered: ${String(v)}`);
  if (rank === 1 || rank === 2) {
    const other = 3 - rank;
    for (let i = 0; i < ROUNDS; i++) {
      const got: Float64Array = (await Promise.all([comm.send(new Float64Array([rank, i]), other, 1), comm.recv<Float64Array>(other, 1)]))[1];
      assert.deepEqual(Array.from(got), [other, i]);
    }
  }
  const late = await Promise.race([stray, new Promise((r) => setTimeout(() => r('nothing'), 1000))]);
  if (rank === 1) {
    const z = zapStats();
    console.log(`curve: rank 1 finished ${ROUNDS} exchanges with rank 2 under attack; attacker mail: ${late}; ZAP admitted ${z.admitted}, refused ${z.refused} (${z.reasons.join(', ')})`);
    assert.equal(late, 'nothing', 'an attacker message was delivered');
    assert.ok(z.refused >= 1, 'the ZAP handler refused nobody: the foreign client key was not checked');
  }
  await comm.barrier();
  stray.catch(() => undefined);
}
await finalize();
