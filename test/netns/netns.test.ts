// Issue 6, item 8: a job across two network namespaces that this test makes (and removes), joined by a veth
// pair, so ranks talk over real TCP between separate network stacks. `tc netem` is missing on this kind of
// kernel; a tbf qdisc with a low rate and a short queue on both ends gives delay (queueing) and loss (tail
// drops) instead. Ranks start through --hostfile + --launch-agent (an `ip netns exec` script). Needs root and
// `ip netns`; skipped with a message otherwise. Traffic stays on the namespaces' own addresses.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { launch, scratch } from '../faults/harness.js';

const tag = `d${process.pid % 100000}`;
const NS = [`${tag}a`, `${tag}b`];
// 10.231.<pid-derived>.0/30: private, and unlikely to clash with another copy of this test
const net = 1 + (process.pid % 250);
const ADDR = [`10.231.${net}.1`, `10.231.${net}.2`];
const PROGRAMS = ['comm-p2p.ts', 'comm-collectives.ts', 'comm-split.ts', 'comm-p2p-large.ts'];

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function usable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need CAP_NET_ADMIN';
  try {
    ip('netns', 'list');
  } catch (e) {
    return `'ip netns' is unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

function teardown(): void {
  for (const ns of NS) {
    try {
      ip('netns', 'del', ns);
    } catch { /* not made, or already gone */ }
  }
}

/** Two namespaces, a veth pair between them, addresses, and a slow, short-queued link each way. */
function setup(): void {
  for (const ns of NS) ip('netns', 'add', ns);
  ip('-n', NS[0], 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', NS[1]);
  ['v0', 'v1'].forEach((dev, i) => {
    ip('-n', NS[i], 'addr', 'add', `${ADDR[i]}/30`, 'dev', dev);
    ip('-n', NS[i], 'link', 'set', dev, 'up');
    ip('-n', NS[i], 'link', 'set', 'lo', 'up');
    // 200 Mbit/s with at most 2 ms of queue: large transfers queue (delay) and overflow (loss, TCP retransmits).
    execFileSync('ip', ['netns', 'exec', NS[i], 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', '200mbit', 'burst', '32kb', 'latency', '2ms']);
  });
}

function linkStats(): string {
  return NS.map((ns, i) => {
    const s = execFileSync('ip', ['netns', 'exec', ns, 'tc', '-s', 'qdisc', 'show', 'dev', `v${i}`], { encoding: 'utf8' });
    const m = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/.exec(s);
    return m ? `${ns}/v${i}: ${m[2]} packets, ${m[3]} dropped, ${m[4]} over the rate` : s.trim();
  }).join('; ');
}

describe('netns: a job across two network namespaces over real TCP with delay and loss', function () {
  this.timeout(0);
  const why = usable();
  let dir = '';

  before(function () {
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    teardown();
    setup();
    dir = scratch('netns');
    // The launch agent: "host" is a namespace's address; the command runs inside that namespace.
    const agent = path.join(dir, 'netns-agent.sh');
    fs.writeFileSync(agent, `#!/bin/sh
# Launch agent of the netns test: runs the command string inside the namespace that owns the host address.
host="$1"; shift
case "$host" in
  ${ADDR[0]}) ns=${NS[0]} ;;
  ${ADDR[1]}) ns=${NS[1]} ;;
  *) echo "netns-agent: no namespace for host $host" >&2; exit 255 ;;
esac
exec ip netns exec "$ns" sh -c "$*"
`, { mode: 0o700 });
    fs.writeFileSync(path.join(dir, 'hosts'), `${ADDR[0]} slots=2\n${ADDR[1]} slots=2\n`);
  });

  after(() => {
    if (why) return;
    teardown();
    fs.rmSync(dir, { recursive: true, force: true });
    const left = ip('netns', 'list').split('\n').filter((l) => NS.some((ns) => l.startsWith(ns)));
    assert.deepEqual(left, [], 'namespaces left behind');
  });

  for (const p of PROGRAMS) {
    it(`${p} passes at 4 ranks, 2 per namespace`, async () => {
      const r = await launch(['--timeout', '300', '--hostfile', path.join(dir, 'hosts'), '--launch-agent', path.join(dir, 'netns-agent.sh'),
        '-n', '4', `test/spmd/${p}`]);
      assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.out.slice(-2000)}\nstderr:\n${r.err.slice(-3000)}`);
      console.log(`      ${p}: ${r.ms} ms; links: ${linkStats()}`);
    });
  }

  it('the ranks really were in different stacks: each namespace sees only its own address', () => {
    for (let i = 0; i < 2; i++) {
      const addrs = execFileSync('ip', ['-n', NS[i], '-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
      assert.ok(addrs.includes(ADDR[i]) && !addrs.includes(ADDR[1 - i]), addrs);
    }
  });
});
