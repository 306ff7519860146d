// Issue 6, item 8: a job across two network namespaces that this test makes (and removes), joined by a veth
// pair, so ranks talk over real TCP between separate network stacks, with delay and loss on the way. `tc netem`
// is missing on this kind of kernel (checked at setup), so each namespace runs the test's relay (relay.ts):
// ranks reach the other namespace's host address through it, and it delays what it carries 20 ms (with
// spikes); the veth below has a short-queued tbf qdisc, so the relays' own TCP links lose packets and
// retransmit. Ranks start through --hostfile + --launch-agent (an `ip netns exec` script). Needs root and
// `ip netns`; skipped with a message otherwise. Traffic stays on loopback and the namespaces' own addresses.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { tsxLoaderUrl } from '../../scripts/launcher/program.js';
import { launch, scratch } from '../faults/harness.js';

const tag = `d${process.pid % 100000}`;
const NS = [`${tag}a`, `${tag}b`];
// Private addresses derived from our pid, unlikely to clash with another copy of this test: LINK on the
// veth (10.231.n.0/30), HOST (10.232.n.1 and .2) on loopback, where the ranks listen.
const net = 1 + (process.pid % 250);
const LINK = [`10.231.${net}.1`, `10.231.${net}.2`];
const HOST = [`10.232.${net}.1`, `10.232.${net}.2`];
const LINK_PORT = 7100;
const DELAY_MS = 20;
const SPIKE_MS = 200; // a lost segment's wait for its retransmit
const SPIKE_EVERY = 500; // chunks, on average
// Each program with the launcher options it needs here: comm-failure's 1 s detection bound leaves no room for the
// relay's 200 ms spikes on a loaded machine (a healthy peer can look hung), so across the relays it runs with 3 s.
const PROGRAMS: [string, string[]][] = [['comm-p2p.ts', []], ['comm-collectives.ts', []], ['comm-split.ts', []],
  ['comm-p2p-large.ts', []], ['comm-failure.ts', ['-x', 'DARRAY_PEER_TIMEOUT_MS=3000']]];
const RELAY = fileURLToPath(new URL('./relay.ts', import.meta.url));

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const inNs = (ns: string, ...cmd: string[]): string => ip('netns', 'exec', ns, ...cmd);

function usable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: network namespaces need CAP_NET_ADMIN';
  try {
    ip('netns', 'list');
  } catch (e) {
    return `'ip netns' is unavailable: ${(e as Error).message.split('\n')[0]}`;
  }
  return undefined;
}

/** A relay process inside a namespace, with its stdout lines as they come. */
class Relay {
  readonly lines: string[] = [];
  private waiters: (() => void)[] = [];
  err = '';
  constructor(readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      this.lines.push(l);
      for (const w of this.waiters.splice(0)) w();
    });
    proc.stderr!.on('data', (b: Buffer) => (this.err += b));
  }

  /** The next line starting with `prefix` after `from` lines, within `ms`. */
  async line(prefix: string, ms: number, from = 0): Promise<string> {
    const until = Date.now() + ms;
    for (;;) {
      const l = this.lines.slice(from).find((x) => x.startsWith(prefix));
      if (l) return l;
      if (Date.now() > until || this.proc.exitCode !== null) throw new Error(`relay: no '${prefix}' line within ${ms} ms; stderr: ${this.err}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }

  async stats(): Promise<Record<string, number>> {
    const from = this.lines.length;
    this.proc.stdin!.write('stats\n');
    return JSON.parse((await this.line('stats ', 5000, from)).slice(6));
  }
}

let relays: Relay[] = [];

async function stopRelays(): Promise<void> {
  await Promise.all(relays.map(async (r) => {
    if (r.proc.exitCode !== null || r.proc.signalCode !== null) return;
    const gone = new Promise<void>((res) => r.proc.once('exit', () => res()));
    r.proc.kill('SIGTERM');
    const t = setTimeout(() => r.proc.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(t);
  }));
  relays = [];
}

function teardown(): void {
  for (const ns of NS) {
    try {
      ip('netns', 'del', ns);
    } catch { /* not made, or already gone */ }
  }
}

/** Whether this kernel has netem: tried on a dummy device in a scratch namespace of our own. */
function hasNetem(): boolean {
  const ns = `${tag}t`;
  try {
    ip('netns', 'add', ns);
    ip('-n', ns, 'link', 'add', 'x0', 'type', 'veth', 'peer', 'name', 'x1');
    inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'x0', 'root', 'netem', 'delay', '20ms');
    return true;
  } catch {
    return false;
  } finally {
    try { ip('netns', 'del', ns); } catch { /* not made */ }
  }
}

/** Two namespaces, a veth pair between them with a short-queued, rate-limited link each way, host addresses. */
function setup(): void {
  for (const ns of NS) ip('netns', 'add', ns);
  ip('-n', NS[0], 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1', 'netns', NS[1]);
  ['v0', 'v1'].forEach((dev, i) => {
    ip('-n', NS[i], 'addr', 'add', `${LINK[i]}/30`, 'dev', dev);
    ip('-n', NS[i], 'link', 'set', dev, 'up');
    ip('-n', NS[i], 'link', 'set', 'lo', 'up');
    // Our host address, and the other's, where our relay's fronts listen.
    ip('-n', NS[i], 'addr', 'add', `${HOST[i]}/32`, 'dev', 'lo');
    ip('-n', NS[i], 'addr', 'add', `${HOST[1 - i]}/32`, 'dev', 'lo');
    // 200 Mbit/s with at most 2 ms of queue: large transfers queue (delay) and overflow (loss, TCP retransmits).
    inNs(NS[i], 'tc', 'qdisc', 'add', 'dev', dev, 'root', 'tbf', 'rate', '200mbit', 'burst', '32kb', 'latency', '2ms');
  });
}

async function startRelays(): Promise<void> {
  relays = [0, 1].map((i) => new Relay(spawn('ip', ['netns', 'exec', NS[i], process.execPath, '--import', tsxLoaderUrl(), RELAY,
    HOST[i], HOST[1 - i], LINK[i], LINK[1 - i], String(LINK_PORT), String(DELAY_MS), String(SPIKE_MS), String(SPIKE_EVERY)],
  { stdio: ['pipe', 'pipe', 'pipe'] })));
  const pids = await Promise.all(relays.map(async (r) => Number((await r.line('ready ', 30000)).slice(6))));
  // Each relay watches the other's namespace for listening ports (through /proc/<pid>/net/tcp).
  relays.forEach((r, i) => r.proc.stdin!.write(`peer ${pids[1 - i]}\n`));
}

const sent = [[0, 0], [0, 0]];
/** Packets each end of the veth sent and dropped since the last call. */
function linkStats(): string {
  return NS.map((ns, i) => {
    const s = inNs(ns, 'tc', '-s', 'qdisc', 'show', 'dev', `v${i}`);
    const m = /Sent \d+ bytes (\d+) pkt \(dropped (\d+)/.exec(s);
    if (!m) return s.trim();
    const [pkts, dropped] = [Number(m[1]), Number(m[2])];
    const line = `v${i}: ${pkts - sent[i][0]} packets, ${dropped - sent[i][1]} dropped`;
    sent[i] = [pkts, dropped];
    return line;
  }).join(', ');
}

let seen: Record<string, number>[] = [{}, {}];
/** What each relay carried since the last call. */
async function relayStats(): Promise<string> {
  const s = await Promise.all(relays.map((r) => r.stats()));
  const d = s.map((x, i) => Object.fromEntries(Object.entries(x).map(([k, v]) => [k, v - (seen[i][k] ?? 0)])));
  seen = s;
  return d.map((x, i) => `relay ${i}: ${x.links} links in, ${x.chunks} chunks (${(x.bytes / 2 ** 20).toFixed(1)} MiB) out, ${x.spikes} spikes`).join(', ');
}

describe('netns: a job across two network namespaces over real TCP with delay and loss', function () {
  this.timeout(0);
  const why = usable();
  let dir = '';
  let agent = '';
  let hosts = '';

  before(async function () {
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
    teardown();
    // A relay stands in for netem only where the kernel lacks it; say so, so that a kernel with it is noticed.
    console.log(`      tc netem ${hasNetem() ? 'is available, but the relay is used so that every kernel runs the same test' : 'is missing: delay comes from the relay'}`);
    setup();
    dir = scratch('netns');
    await startRelays();
    // The launch agent: "host" is a namespace's host address; the command runs inside that namespace.
    agent = path.join(dir, 'netns-agent.sh');
    fs.writeFileSync(agent, `#!/bin/sh
# Launch agent of the netns test: runs the command string inside the namespace that owns the host address.
host="$1"; shift
case "$host" in
  ${HOST[0]}) ns=${NS[0]} ;;
  ${HOST[1]}) ns=${NS[1]} ;;
  *) echo "netns-agent: no namespace for host $host" >&2; exit 255 ;;
esac
exec ip netns exec "$ns" sh -c "$*"
`, { mode: 0o700 });
    hosts = path.join(dir, 'hosts');
    fs.writeFileSync(hosts, `${HOST[0]} slots=2\n${HOST[1]} slots=2\n`);
  });

  after(async () => {
    if (why) return;
    await stopRelays();
    teardown();
    fs.rmSync(dir, { recursive: true, force: true });
    const left = ip('netns', 'list').split('\n').filter((l) => NS.some((ns) => l.startsWith(ns)));
    assert.deepEqual(left, [], 'namespaces left behind');
  });

  const job = (timeout: number, args: string[]) => launch(['--timeout', String(timeout), '--hostfile', hosts, '--launch-agent', agent, '-n', '4', ...args]);

  for (const [p, opts] of PROGRAMS) {
    it(`${p} passes at 4 ranks, 2 per namespace`, async () => {
      const r = await job(300, [...opts, `test/spmd/${p}`]);
      assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.out.slice(-2000)}\nstderr:\n${r.err.slice(-3000)}`);
      console.log(`      ${p}: ${r.ms} ms; ${await relayStats()}; ${linkStats()}`);
    });
  }

  it('the ranks were in different stacks, and their traffic crossed the relays', async () => {
    for (let i = 0; i < 2; i++) {
      const addrs = inNs(NS[i], 'ip', '-4', '-o', 'addr', 'show', 'dev', `v${i}`);
      assert.ok(addrs.includes(LINK[i]) && !addrs.includes(LINK[1 - i]), addrs);
    }
    const [a, b] = relays.map((r) => fs.readlinkSync(`/proc/${r.proc.pid}/ns/net`));
    assert.notEqual(a, b, 'the relays share a network namespace');
    for (const s of await Promise.all(relays.map((r) => r.stats()))) assert.ok(s.links > 0 && s.bytes > 0, JSON.stringify(s));
  });

  it('a cut relay connection fails the job with PeerFailedError naming a peer in the other namespace', async () => {
    const running = job(60, [fileURLToPath(new URL('./cut-prog.ts', import.meta.url)), dir]);
    // Cut when rank 0 says so (20 checked rounds done); every wait here is bounded by the job's own --timeout.
    let cutAt = 0;
    const watch = setInterval(() => {
      if (cutAt || !fs.existsSync(`${dir}/go`)) return;
      cutAt = Date.now();
      relays[0].proc.stdin!.write('cut\n');
    }, 10);
    const r = await running.finally(() => clearInterval(watch));
    const why = `exit ${r.code}\nstdout:\n${r.out.slice(-2000)}\nstderr:\n${r.err.slice(-2000)}`;
    assert.ok(cutAt > 0, `the program never reached the cut; ${why}`);
    assert.doesNotMatch(r.out, /WRONG/, why);
    assert.equal(r.code, 7, why); // PeerFailedError, not a timeout (110), a damaged message (8) or another error (9)
    const lost = [...r.out.matchAll(/\[(\d)\] lost (\d+) at (\d+) PeerFailedError: (.*)/g)];
    assert.ok(lost.length > 0, why);
    for (const [, rank, peer, at, msg] of lost) {
      assert.equal(Number(rank) < 2, Number(peer) >= 2, `rank ${rank} lost rank ${peer} of its own namespace; ${why}`);
      assert.match(msg, new RegExp(`peer ${peer}\\b`), why);
      assert.ok(Number(at) - cutAt < 5000, `rank ${rank} noticed the cut ${Number(at) - cutAt} ms late; ${why}`);
    }
    console.log(`      cut: ${lost.length} ranks failed with PeerFailedError ${lost.map((m) => Number(m[3]) - cutAt).join(', ')} ms after it`);
  });
});
