// A delaying TCP relay of the netns test, run inside one network namespace (tc netem is missing on this kind
// of kernel): ranks reach the other namespace's host address through it, and every byte it carries across the
// veth waits a fixed delay, now and then a much longer one. Usage: relay.ts SELF_HOST PEER_HOST SELF_LINK
// PEER_LINK LINK_PORT DELAY_MS SPIKE_MS SPIKE_EVERY; commands on stdin, one a line: "peer PID", "cut", "stats".
//
// A relay cannot drop bytes inside a TCP stream without corrupting it, so loss is stood for by delay spikes
// (the wait of a segment for its retransmit); real drops and retransmits happen on the veth below, whose
// qdisc the test makes short-queued. Order is kept: a chunk never leaves before the one read before it.
//
// Front: for each port that the peer namespace listens on at PEER_HOST (read from /proc/<peer pid>/net/tcp,
// which shows the peer's stack), listen on PEER_HOST:port here (the test puts PEER_HOST on this namespace's
// loopback) and carry each connection over a fresh TCP link to the peer relay's SELF_LINK:LINK_PORT, opened
// by a 2-byte port header. Back: accept those links on SELF_LINK:LINK_PORT and connect to SELF_HOST:port.
import fs from 'node:fs';
import net from 'node:net';
import readline from 'node:readline';

const [selfHost, peerHost, selfLink, peerLink, linkPortArg, delayArg, spikeArg, everyArg] = process.argv.slice(2);
const LINK_PORT = Number(linkPortArg);
const DELAY_MS = Number(delayArg);
const SPIKE_MS = Number(spikeArg);
const SPIKE_EVERY = Number(everyArg);
if (!selfHost || !peerHost || !selfLink || !peerLink || !(LINK_PORT > 0) || !(DELAY_MS >= 0) || !(SPIKE_MS >= 0) || !(SPIKE_EVERY > 0)) {
  console.error('usage: relay.ts SELF_HOST PEER_HOST SELF_LINK PEER_LINK LINK_PORT DELAY_MS SPIKE_MS SPIKE_EVERY');
  process.exit(2);
}
/** Bytes waiting in one direction of one connection before we stop reading its source (backpressure). */
const HIGH = 4 << 20;
const LOW = 1 << 20;

const stats = { links: 0, bytes: 0, chunks: 0, spikes: 0, maxQueued: 0, cut: 0 };
const live = new Set<net.Socket>();

/** Copies src to dst; when `delay`, each chunk leaves DELAY_MS (sometimes SPIKE_MS more) after it came, in order. */
function carry(src: net.Socket, dst: net.Socket, delay: boolean): void {
  const queue: { due: number; chunk: Buffer }[] = [];
  let queued = 0;
  let lastDue = 0;
  let timer: NodeJS.Timeout | undefined;
  let blocked = false;
  let ended = false;
  const pump = (): void => {
    timer = undefined;
    while (!blocked && queue.length > 0 && queue[0].due <= Date.now()) {
      const { chunk } = queue.shift()!;
      queued -= chunk.length;
      if (queued < LOW && src.isPaused()) src.resume();
      if (!dst.write(chunk)) {
        blocked = true;
        dst.once('drain', () => { blocked = false; pump(); });
      }
    }
    if (queue.length > 0 && !blocked) timer = setTimeout(pump, queue[0].due - Date.now());
    else if (queue.length === 0 && ended && !dst.destroyed) dst.end();
  };
  src.on('data', (chunk: Buffer) => {
    let due = Date.now();
    if (delay) {
      const spike = Math.random() * SPIKE_EVERY < 1;
      if (spike) stats.spikes++;
      due = Math.max(due + DELAY_MS + (spike ? SPIKE_MS : 0), lastDue);
      lastDue = due;
      stats.bytes += chunk.length;
      stats.chunks++;
    }
    queue.push({ due, chunk });
    queued += chunk.length;
    stats.maxQueued = Math.max(stats.maxQueued, queued);
    if (queued > HIGH) src.pause();
    if (!timer && !blocked) pump();
  });
  src.on('end', () => { ended = true; if (!timer && !blocked) pump(); });
}

/** Joins two sockets both ways; either one failing or closing takes the other down (a cut, never a gap). */
function join(local: net.Socket, link: net.Socket): void {
  for (const s of [local, link]) {
    live.add(s);
    s.on('error', () => { local.destroy(); link.destroy(); });
    s.on('close', () => { live.delete(s); (s === local ? link : local).destroy(); });
  }
  carry(local, link, true);
  carry(link, local, false);
}

// Back: links from the peer relay, each to a port of this namespace's host address.
const back = net.createServer({ allowHalfOpen: true }, (link) => {
  let head = Buffer.alloc(0);
  const onHead = (b: Buffer): void => {
    head = Buffer.concat([head, b]);
    if (head.length < 2) return;
    link.off('data', onHead);
    link.pause();
    const port = head.readUInt16BE(0);
    const local = net.connect({ host: selfHost, port, allowHalfOpen: true });
    local.once('error', () => link.destroy());
    local.once('connect', () => {
      stats.links++;
      join(local, link);
      if (head.length > 2) link.unshift(head.subarray(2));
      link.resume();
    });
  };
  link.on('data', onHead);
  link.on('error', () => link.destroy());
});

// Fronts: one listener per port the peer namespace listens on at its host address.
const fronts = new Map<number, net.Server>();
function front(port: number): net.Server {
  const srv = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (local) => {
    const link = net.connect({ host: peerLink, port: LINK_PORT, allowHalfOpen: true });
    local.on('error', () => link.destroy());
    link.once('error', () => local.destroy());
    link.once('connect', () => {
      const h = Buffer.alloc(2);
      h.writeUInt16BE(port);
      link.write(h);
      join(local, link);
      local.resume();
    });
  });
  srv.on('error', (e) => console.error(`relay ${selfHost}: cannot listen on ${peerHost}:${port}: ${e.message}`));
  srv.listen(port, peerHost);
  return srv;
}

/** Ports in LISTEN state (0A) on `host` in the namespace of process `pid`. */
function listening(pid: number, host: string): Set<number> {
  const hex = host.split('.').map(Number).reverse().map((b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
  const ports = new Set<number>();
  for (const line of fs.readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== '0A') continue;
    const [addr, port] = f[1].split(':');
    if (addr === hex) ports.add(parseInt(port, 16));
  }
  return ports;
}

let peerPid = 0;
setInterval(() => {
  if (!peerPid) return;
  let now: Set<number>;
  try {
    now = listening(peerPid, peerHost);
  } catch (e) {
    console.error(`relay ${selfHost}: cannot read the peer's sockets: ${(e as Error).message}`);
    process.exit(1);
  }
  for (const p of now) if (!fronts.has(p)) fronts.set(p, front(p));
  for (const [p, srv] of fronts) if (!now.has(p)) { srv.close(); fronts.delete(p); }
}, 10);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/);
  if (cmd === 'peer') peerPid = Number(arg);
  else if (cmd === 'cut') {
    stats.cut += live.size;
    for (const s of live) s.destroy();
    console.log(`cut ${JSON.stringify(stats)}`);
  } else if (cmd === 'stats') console.log(`stats ${JSON.stringify({ ...stats, fronts: fronts.size })}`);
  else console.error(`relay ${selfHost}: unknown command ${line}`);
}).on('close', () => process.exit(0)); // the test is gone: so are we

back.listen(LINK_PORT, selfLink, () => console.log(`ready ${process.pid}`));
back.on('error', (e) => { console.error(`relay ${selfHost}: cannot listen on ${selfLink}:${LINK_PORT}: ${e.message}`); process.exit(1); });
