// Unit tests of src/comm/security.ts: Z85 decoding (RFC 32 vector), key files that are private and well-formed or
// refused with a clear error, and a ZAP handler that admits only allow-listed CURVE clients.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as zmq from 'zeromq';
import { clientOptions, makeJobKeys, readKeyFile, serverOptions, startZap, stopZap, writeKeyFile, z85Decode, zapStats } from '../../src/comm/security.js';
import { CommError } from '../../src/errors.js';
import { scratch } from './harness.js';

describe('security: CURVE keys and the ZAP allow-list', function () {
  this.timeout(30000);
  let dir = '';
  before(() => (dir = scratch('keys')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('decodes Z85 as RFC 32 says', () => {
    assert.deepEqual(Array.from(z85Decode('HelloWorld')), [0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]);
    assert.equal(z85Decode(zmq.curveKeyPair().publicKey).length, 32);
    assert.throws(() => z85Decode('abc'), CommError);
  });

  it('makes distinct keys per rank and per job, every rank allow-listed', () => {
    const a = makeJobKeys(3);
    const b = makeJobKeys(3);
    assert.equal(new Set(a.map((k) => k.public)).size, 3);
    assert.deepEqual(a[0].allow, a.map((k) => k.public));
    assert.notEqual(a[0].serverPublic, b[0].serverPublic);
  });

  it('writes key files 0600 and refuses files others can read, garbage and keys off the allow-list', () => {
    const k = makeJobKeys(2)[1];
    const f = path.join(dir, 'k1.json');
    writeKeyFile(f, k);
    assert.equal(fs.statSync(f).mode & 0o777, 0o600);
    assert.deepEqual(readKeyFile(f, 1), k);
    assert.throws(() => writeKeyFile(f, k), /EEXIST/); // never overwrites: a planted file is not reused
    fs.chmodSync(f, 0o644);
    assert.throws(() => readKeyFile(f, 1), /rank 1, init.*mode 0600 \(it is 644\)/);
    const g = path.join(dir, 'g.json');
    fs.writeFileSync(g, '{"allow":[]}', { mode: 0o600 });
    assert.throws(() => readKeyFile(g, 2), /does not hold 40-character Z85 CURVE keys/);
    const h = path.join(dir, 'h.json');
    writeKeyFile(h, { ...k, allow: [makeJobKeys(1)[0].public] });
    assert.throws(() => readKeyFile(h), /own public key is not on the job's allow-list/);
    assert.throws(() => readKeyFile(path.join(dir, 'none.json')), /cannot be read/);
  });

  it('ZAP admits a job key and refuses a foreign client key that knows the server key', async () => {
    const [srv, cli] = makeJobKeys(2);
    await startZap(srv.allow);
    const pull = new zmq.Pull({ linger: 0, receiveTimeout: 3000, ...serverOptions(srv) });
    const pushes: zmq.Push[] = [];
    try {
      await pull.bind('tcp://127.0.0.1:*');
      const before = zapStats();
      const stranger = makeJobKeys(1)[0];
      for (const opts of [clientOptions({ ...stranger, serverPublic: srv.serverPublic }), clientOptions(cli)]) {
        const s = new zmq.Push({ linger: 0, ...opts });
        pushes.push(s);
        s.connect(pull.lastEndpoint!);
      }
      await pushes[0].send('stranger');
      await pushes[1].send('member');
      const [m] = await pull.receive();
      assert.equal(m.toString(), 'member');
      for (let t = 0; t < 50 && zapStats().refused === before.refused; t++) await new Promise((r) => setTimeout(r, 50));
      const after = zapStats();
      assert.equal(after.admitted - before.admitted, 1);
      assert.ok(after.refused > before.refused, 'the foreign key was not refused');
      assert.ok(after.reasons.includes('client key not in this job'));
    } finally {
      for (const s of pushes) s.close();
      pull.close();
      stopZap();
    }
  });
});
