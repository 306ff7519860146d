// Issue 6, items 5 and 7: stale mail (previous incarnation, another job, replayed sequence) never reaches a
// receive; a single-host job listens only on ipc in its 0700 directory; a tcp job listens only on its hosts'
// addresses, uses CURVE with per-job keys from the launcher and a ZAP allow-list, and keeps its traffic going
// while strangers knock. The tcp jobs use loopback addresses 127.0.0.2/3 reached through a local launch agent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, prog, scratch } from './harness.js';

const AGENT = fileURLToPath(new URL('./loopback-agent.sh', import.meta.url));

async function ok(args: string[], figures: RegExp): Promise<string> {
  const r = await launch(['--timeout', '120', ...args]);
  assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.out.slice(-3000)}\nstderr:\n${r.err.slice(-3000)}`);
  for (const l of r.out.split('\n')) if (figures.test(l)) console.log(`      ${l}`);
  return r.out + r.err;
}

describe('faults: stale mail, exposure and CURVE', function () {
  this.timeout(0);
  let dir = '';
  let hosts = '';
  before(() => {
    dir = scratch('exposure');
    hosts = path.join(dir, 'hosts');
    fs.writeFileSync(hosts, '127.0.0.2 slots=2\n127.0.0.3 slots=2\n');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tcp = () => ['--hostfile', hosts, '--launch-agent', AGENT, '-n', '4'];

  it("a restarted job's ranks refuse the previous incarnation's mail, another job's mail and replayed sequences", async () => {
    const out = await ok(['-n', '2', '-x', 'DARRAY_EPOCH=1', prog('stale.ts')], /stale:/);
    assert.match(out, /refused a message from another job/);
  });

  it('a single-host job listens only on ipc sockets inside its 0700 run directory', async () => {
    const out = await ok(['-n', '3', prog('sockets.ts')], /sockets:/);
    assert.match(out, /ipc job of 3: 0 inet listeners \(\), \d+ unix listeners in \S+, 0 problems/);
  });

  it('a tcp job listens only on its ranks’ own addresses, never a wildcard', async () => {
    const out = await ok([...tcp(), prog('sockets.ts')], /sockets:/);
    assert.match(out, /tcp job of 4: 8 inet listeners .*, 0 problems/);
  });

  it('a tcp job admits only its own CURVE keys: raw, keyless and foreign clients get nothing through', async () => {
    const out = await ok([...tcp(), prog('curve.ts')], /curve:/);
    assert.match(out, /attacker mail: nothing; ZAP admitted \d+, refused [1-9]/);
  });
});
