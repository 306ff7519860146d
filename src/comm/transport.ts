// The ZeroMQ transport of one rank: rendezvous through rank 0, a DEALER->ROUTER data stream and a control
// stream to every peer, per-peer ordered send queues with backpressure, heartbeats, and failure of lost peers.
import * as zmq from 'zeromq';
import { appendFileSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { CommError, PeerFailedError, ProtocolError, TimeoutError } from '../errors.js';
import { traceRecv, traceSend } from '../trace/recorder.js';
import type { RankEnv } from './env.js';
import { Matcher, type Incoming } from './p2p.js';
import { clientOptions, readKeyFile, serverOptions, startZap, stopZap, type JobKeys } from './security.js';
import { ANY_SOURCE, WORLD_CONTEXT } from './tags.js';
import { Stream } from './stream.js';
import { rendezvous } from './rendezvous.js';
import { landShared, SharedOutbox, travelsShared } from './shared-p2p.js';
import {
  decodeBody, decodeHeader, dtypeOf, encodeBody, encodeControl, encodeHeader, encodeShared, INLINE_BYTES,
  jobHash, Kind, type AnyTypedArray, type Body, type Header,
} from './wire.js';

/**
 * Typed payloads up to this many bytes are copied at send time and the send completes at once; bigger ones
 * travel from the caller's memory without a copy and the send completes when the receiver has them (an Ack).
 */
export const COPY_BELOW = 128 * 1024;
/** Unmatched bytes from one peer above which its large messages are acked only when a receive takes them. */
export const UNEXPECTED_LIMIT = 256 * 2 ** 20;
/** A blocked zmq send wakes this often to notice a lost peer (the wait itself is unbounded: backpressure). */
const SEND_POLL_MS = 500;

interface PendingSend {
  op: string;
  ctx: number;
  tag: number;
  since: number;
}

/** What this rank knows about one peer. */
class Peer {
  seq = 0;
  failure?: Error;
  reason = '';
  byeReceived = false;
  byeWaiter?: () => void;
  readonly acks = new Map<number, { resolve: () => void; reject: (e: Error) => void; ctx: number; op: string; tag: number }>();
  /** Sequence number the next data message from this peer must carry: replays and forgeries are refused. */
  expect = 0;
  readonly sends = new Set<PendingSend>();
  constructor(readonly rank: number, readonly data: Stream, readonly ctl: Stream) {}
}

/**
 * The world-level transport. Ranks here are world ranks; communicators map their own ranks onto these and
 * keep their traffic apart by context id.
 */
export class Transport {
  readonly rank: number;
  readonly size: number;
  readonly matcher: Matcher;
  /** Next context id this rank may hand out; split agrees on the maximum over its members. */
  nextCtx = 2;
  private readonly job: number;
  private readonly epoch: number;
  private peers: (Peer | undefined)[] = [];
  private sockets: zmq.Socket[] = [];
  private dataIn?: zmq.Router;
  private ctlIn?: zmq.Router;
  private closing = false;
  private closed = false;
  private ownFiles: string[] = [];
  private readonly hbIntervalMs: number;
  /** CURVE keys of a tcp job (undefined on ipc, and for tcp jobs started without our launcher's keys). */
  private keys?: JobKeys;
  private zapUser = false;
  /** What the wire codec names in its errors: this rank and the sender at hand (one object, not one per message). */
  private readonly wireCtx: { rank: number; peerHint?: number };
  dropped = 0;
  /** Large typed arrays go through shared memory (every rank of the job said it can map every other's). */
  private shared = false;
  /** This rank's segments holding arrays on their way to peers. */
  private readonly outbox = new SharedOutbox();
  /** Messages sent through shared memory so far (for tests and diagnostics). */
  get sharedSent(): number {
    return this.outbox.sent;
  }

  /**
   * @internal Called on every rank once the world's shared-memory probe said yes (init); `direct`: it also found
   * that every rank can read every other's memory, so arrays are read from the sender's memory, not staged.
   */
  enableShared(direct: boolean): void {
    this.shared = true;
    this.outbox.direct = direct;
  }

  private constructor(readonly env: RankEnv) {
    this.rank = env.rank;
    this.size = env.size;
    this.wireCtx = { rank: env.rank };
    this.job = jobHash(env.jobId);
    this.epoch = env.epoch;
    this.hbIntervalMs = Math.max(20, Math.min(1000, Math.floor(env.peerTimeoutMs / 4)));
    this.matcher = new Matcher((peer, op, tag) => this.peerError(peer, op, tag));
    // The world's contexts exist before any mail can arrive (the read loops start inside open()).
    const world = Array.from({ length: this.size }, (_, i) => i);
    this.matcher.registerContext(WORLD_CONTEXT, world);
    this.matcher.registerContext(WORLD_CONTEXT + 1, world);
  }

  /** Joins the job: binds this rank's endpoints, trades addresses through rank 0, connects to every peer. */
  static async open(env: RankEnv): Promise<Transport> {
    const t = new Transport(env);
    if (env.size > 1) await t.connect();
    return t;
  }

  private peerError(peer: number, op: string, tag: number | undefined): PeerFailedError {
    const p = this.peers[peer];
    const why = p?.reason || 'lost';
    return new PeerFailedError(`peer ${peer} failed: ${why}`, { rank: this.rank, op, peer, tag });
  }

  private async connect(): Promise<void> {
    const { env } = this;
    let dataAddr: string;
    let ctlAddr: string;
    if (env.transport === 'tcp') await this.secure();
    // Listening sockets are CURVE servers on tcp: only clients holding one of this job's keys get through (ZAP).
    const server = this.keys ? serverOptions(this.keys) : {};
    // ROUTERs, which only receive: each message arrives behind the routing id its sender's DEALER announced (its
    // rank), so that a message whose header cannot be read still names its sender. A ROUTER drops only what it
    // sends, never what it receives: a full inbound pipe holds the sending DEALER back, as PUSH->PULL would.
    this.dataIn = new zmq.Router({ linger: 0, ...server });
    this.ctlIn = new zmq.Router({ linger: 0, receiveHighWaterMark: 0, ...server }); // acks are tiny and must never stall
    this.sockets.push(this.dataIn, this.ctlIn);
    if (env.transport === 'ipc') {
      prepareRundir(env.rundir, this.rank);
      dataAddr = `ipc://${env.rundir}/${this.rank}d.sock`;
      ctlAddr = `ipc://${env.rundir}/${this.rank}c.sock`;
      this.ownFiles.push(`${env.rundir}/${this.rank}d.sock`, `${env.rundir}/${this.rank}c.sock`);
      await this.dataIn.bind(dataAddr);
      await this.ctlIn.bind(ctlAddr);
    } else {
      const host = env.host.includes(':') ? `[${env.host}]` : env.host;
      await this.dataIn.bind(`tcp://${host}:*`);
      await this.ctlIn.bind(`tcp://${host}:*`);
      const port = (s: zmq.Router): string => (s.lastEndpoint ?? '').replace(/^.*:/, '');
      dataAddr = `tcp://${host}:${port(this.dataIn)}`;
      ctlAddr = `tcp://${host}:${port(this.ctlIn)}`;
    }
    const table = await rendezvous(env, dataAddr, ctlAddr, this.keys, this.ownFiles);
    const handshakes: Promise<void>[] = [];
    const linked = new Set<number>();
    for (let r = 0; r < this.size; r++) {
      if (r === this.rank) {
        this.peers.push(undefined);
        continue;
      }
      // The control stream carries ZMTP heartbeats, answered by libzmq's I/O thread: a peer that is stopped
      // or gone is noticed even while its JavaScript is busy computing, and busy peers are not mistaken for dead.
      // The data stream has none, so that a receiver that is slow to drain (backpressure) is not taken for dead.
      const mk = (addr: string, control: boolean): zmq.Dealer => {
        const s = new zmq.Dealer({
          ...(this.keys ? clientOptions(this.keys) : {}),
          routingId: String(this.rank),
          sendTimeout: SEND_POLL_MS,
          linger: 0,
          sendHighWaterMark: control ? 0 : 1000,
          ...(control ? { heartbeatInterval: this.hbIntervalMs, heartbeatTimeout: env.peerTimeoutMs, handshakeInterval: env.peerTimeoutMs } : {}),
        });
        this.sockets.push(s);
        s.events.on('disconnect', () => this.onDisconnect(r, control));
        if (control) handshakes.push(new Promise<void>((resolve) => s.events.on('handshake', () => resolve())).then(() => void linked.add(r)));
        s.connect(addr);
        return s;
      };
      const lost = (): Error | undefined => this.peers[r]?.failure ?? (this.closed ? this.closedError('send') : undefined);
      this.peers.push(new Peer(r, new Stream(mk(table.data[r], false), lost), new Stream(mk(table.ctl[r], true), lost)));
    }
    void this.readLoop(this.dataIn, false);
    void this.readLoop(this.ctlIn, true);
    // Heartbeats run only on links whose handshake is done: wait for all, so that no peer starts unwatched.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const missing = this.peers.map((p, i) => i).filter((i) => i !== this.rank && !linked.has(i));
        reject(new TimeoutError(`no link to ranks ${missing.join(',')} within ${env.connectTimeoutMs} ms`, { rank: this.rank, op: 'init' }));
      }, env.connectTimeoutMs);
    });
    try {
      await Promise.race([Promise.all(handshakes), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Reads this rank's CURVE keys (the launcher's private file, removed once read) and starts the ZAP allow-list.
   * A tcp job without keys (started by Slurm or Open MPI with DARRAY_ROOT=tcp://...) runs unauthenticated, and
   * says so once.
   */
  private async secure(): Promise<void> {
    const { env } = this;
    if (!env.keyFile) {
      if (this.rank === 0) process.stderr.write(`[rank 0] darray: warning: tcp job without CURVE keys (no DARRAY_KEYFILE from darray-run): its sockets accept any client that can reach ${env.host}\n`);
      return;
    }
    this.keys = readKeyFile(env.keyFile, this.rank);
    rmSync(env.keyFile, { force: true });
    await startZap(this.keys.allow, (line) => this.complain(`ZAP: ${line}`));
    this.zapUser = true;
  }

  /** Closes every socket of this rank and leaves the process's ZAP handler. */
  private closeSockets(): void {
    for (const s of this.sockets) s.close();
    if (this.zapUser) {
      this.zapUser = false;
      stopZap();
    }
  }

  private closedError(op: string): CommError {
    return new CommError('the communicator was finalized', { rank: this.rank, op });
  }

  /**
   * Sends `data` to world rank `dest` on context `ctx` with `tag`. Resolves when the caller may reuse the
   * buffer: at once for copied payloads, when the receiver has the bytes for large typed arrays.
   */
  send(dest: number, ctx: number, tag: number, data: unknown, op: string): Promise<void> {
    return traceSend(op, dest, ctx, tag, data, () => this.sendNow(dest, ctx, tag, data, op));
  }

  private sendNow(dest: number, ctx: number, tag: number, data: unknown, op: string): Promise<void> {
    if (this.closed) return Promise.reject(this.closedError(op));
    if (dest === this.rank) {
      try {
        this.deliverSelf(ctx, tag, data, op);
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e);
      }
    }
    const peer = this.peers[dest]!;
    if (peer.failure) return Promise.reject(this.peerError(dest, op, tag));
    if (this.shared && travelsShared(data)) {
      const sent = this.sendShared(peer, ctx, tag, data, op);
      if (sent) return sent;
    }
    let body: Body;
    try {
      body = encodeBody(data, COPY_BELOW, INLINE_BYTES);
    } catch (e) {
      return Promise.reject(new CommError((e as Error).message, { rank: this.rank, op, peer: dest, tag }));
    }
    const seq = peer.seq++;
    const h: Header = { job: this.job, epoch: this.epoch, ctx, src: this.rank, tag, seq, kind: body.kind, dtype: body.dtype, length: body.length, nframes: body.frames.length };
    let frames: Buffer[];
    if (body.inline !== undefined) {
      h.inline = body.inline; // a small body: one frame in all, copied into the header now
      frames = [encodeHeader(h)];
    } else frames = body.frames.length === 1 ? [encodeHeader(h), body.frames[0]] : [encodeHeader(h), ...body.frames];
    if (body.aliases) return this.sendAcked(peer, seq, frames, ctx, tag, op);
    // A copied payload: done once zmq has it. Only a send that has to wait shows in the SIGUSR2 dump.
    const waits = !peer.data.idle;
    const pend: PendingSend | undefined = waits ? { op, ctx, tag, since: Date.now() } : undefined;
    if (pend) peer.sends.add(pend);
    const sent = peer.data.push(frames).catch((e: unknown) => {
      throw this.sendError(e, peer, op, tag);
    });
    return pend ? sent.finally(() => peer.sends.delete(pend)) : sent;
  }

  /** A send from the caller's memory: complete when the receiver acknowledges having the bytes. */
  private async sendAcked(peer: Peer, seq: number, frames: Buffer[], ctx: number, tag: number, op: string): Promise<void> {
    const pend: PendingSend = { op, ctx, tag, since: Date.now() };
    peer.sends.add(pend);
    const acked = new Promise<void>((resolve, reject) => peer.acks.set(seq, { resolve, reject, ctx, op, tag }));
    acked.catch(() => undefined); // observed below; no unhandled rejection if the stream fails first
    try {
      await peer.data.push(frames);
      await acked;
    } catch (e) {
      peer.acks.delete(seq);
      throw this.sendError(e, peer, op, tag);
    } finally {
      peer.sends.delete(pend);
    }
  }

  /**
   * A typed array sent through shared memory (SharedOutbox.stage), the message naming the segment it was copied to
   * or where it lies in this process; complete when the receiver acks having copied it out. Undefined when no
   * segment can be had (the caller sends through the socket instead).
   */
  private sendShared(peer: Peer, ctx: number, tag: number, ta: AnyTypedArray, op: string): Promise<void> | undefined {
    const staged = this.outbox.stage(ta);
    if (!staged) return undefined;
    const seq = peer.seq++;
    const header = encodeShared({ job: this.job, epoch: this.epoch, ctx, src: this.rank, tag, seq }, ta, staged.desc);
    return this.sendAcked(peer, seq, [header], ctx, tag, op).then(
      () => staged.done(false),
      (e: unknown) => {
        staged.done(true);
        throw e;
      },
    );
  }

  private sendError(e: unknown, peer: Peer, op: string, tag: number): Error {
    // A collective send failed for the loss of another member: that member is the one to name.
    if (e instanceof PeerFailedError && e.peer !== peer.rank && !peer.failure) return e;
    if (e instanceof PeerFailedError || peer.failure) return this.peerError(peer.rank, op, tag);
    if (e instanceof CommError) return e;
    return new CommError(`send failed: ${(e as Error).message}`, { rank: this.rank, op, peer: peer.rank, tag }, { cause: e });
  }

  private deliverSelf(ctx: number, tag: number, data: unknown, op: string): void {
    // The receiver gets a copy: the sender may change its buffer as soon as send returns.
    let value: unknown;
    let bytes: number;
    if (dtypeOf(data) >= 0) {
      const ta = data as AnyTypedArray;
      value = Buffer.isBuffer(ta) ? Buffer.from(ta) : ta.slice();
      bytes = ta.byteLength;
    } else {
      let body;
      try {
        body = encodeBody(data);
      } catch (e) {
        throw new CommError((e as Error).message, { rank: this.rank, op, peer: this.rank, tag });
      }
      const h: Header = { job: this.job, epoch: this.epoch, ctx, src: this.rank, tag, seq: 0, kind: body.kind, dtype: body.dtype, length: body.length, nframes: body.frames.length };
      value = decodeBody(h, body.frames, { rank: this.rank });
      bytes = body.length;
    }
    this.matcher.arrive({ ctx, src: this.rank, tag, data: value, bytes });
  }

  /** Receives on context `ctx` from world rank `src` (or ANY_SOURCE) with `tag` (or ANY_TAG). */
  recv(ctx: number, src: number, tag: number, op: string): Promise<Incoming> {
    if (this.closed) return Promise.reject(this.closedError(op));
    return traceRecv(op, ctx, () => this.matcher.post(ctx, src, tag, op));
  }

  private async readLoop(sock: zmq.Router, control: boolean): Promise<void> {
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await sock.receive();
      } catch (e) {
        if (this.closed || sock.closed) return;
        process.stderr.write(`[rank ${this.rank}] darray: receive failed: ${(e as Error).message}\n`);
        continue;
      }
      try {
        if (control) this.onControl(frames);
        else this.onData(frames);
      } catch (e) {
        this.lastRefusal = e as Error;
        this.complain((e as Error).message);
      }
    }
  }

  /** The last message refused as malformed or foreign (the error that was reported on stderr). */
  lastRefusal?: Error;
  private complaints = 0;
  /** Reports a refused or malformed message on stderr: the first 10, then one in 1000 (a flood stays readable). */
  private complain(msg: string): void {
    this.complaints++;
    if (this.complaints <= 10 || this.complaints % 1000 === 0) {
      process.stderr.write(`darray: ${msg}${this.complaints > 10 ? ` (${this.complaints} refused so far)` : ''}\n`);
    }
  }

  /**
   * Reads who sent a message (the routing id its ROUTER put first: a rank of this job, else a stranger, refused
   * naming that id) and its header, and checks job, epoch and sender. Returns the header and the peer, or
   * undefined to drop the message; every refusal is a ProtocolError that names the sender.
   */
  private admit(frames: Buffer[]): { h: Header; peer: Peer } | undefined {
    const from = senderRank(frames[0], this.size, this.rank);
    if (from < 0) {
      this.dropped++;
      throw new ProtocolError(`refused a message from a socket that is not a rank of this job (routing id ${routingIdText(frames[0])})`, { rank: this.rank, op: 'receive' });
    }
    if (frames.length < 2) {
      this.dropped++;
      throw new ProtocolError('malformed message: no header frame', { rank: this.rank, op: 'receive', peer: from });
    }
    const wire = this.wireCtx;
    wire.peerHint = from; // decodeHeader names the sender in its errors, even when the header names nobody
    const h = decodeHeader(frames[1], wire);
    if (h.src !== from) {
      this.dropped++;
      throw new ProtocolError(`refused a message that claims source ${h.src} (forged or misrouted)`, { rank: this.rank, op: 'receive', peer: from, tag: h.tag });
    }
    if (h.job !== this.job) {
      this.dropped++;
      throw new ProtocolError(`refused a message from another job (job hash ${h.job})`, { rank: this.rank, op: 'receive', peer: from });
    }
    const peer = this.peers[from]!;
    if (h.epoch !== this.epoch || peer.failure) {
      this.dropped++; // stale mail from an earlier incarnation of the job, or from a peer already given up
      return undefined;
    }
    return { h, peer };
  }

  private onData(frames: Buffer[]): void {
    const got = this.admit(frames);
    if (!got) return;
    const { h, peer } = got;
    if (h.kind !== Kind.Bye) {
      // One ordered stream per peer: anything but the next number is a replay, a stale copy or a forgery. It is
      // refused without failing the peer, whose real messages keep their numbers.
      if (h.seq !== peer.expect) {
        this.dropped++;
        throw new ProtocolError(`refused a message with sequence number ${h.seq}, expected ${peer.expect} (replayed, stale or forged)`, { rank: this.rank, op: 'receive', peer: h.src, tag: h.tag });
      }
      peer.expect++;
    }
    if (h.kind === Kind.Bye) {
      peer.byeReceived = true;
      peer.byeWaiter?.();
      return;
    }
    let data: unknown;
    try {
      data = h.kind === Kind.Shared ? landShared(h, this.rank) : decodeBody(h, frames, this.wireCtx, 2);
    } catch (e) {
      this.fail(h.src, (e as Error).message); // a peer that sends garbage cannot be trusted with more traffic
      throw e;
    }
    let bytes = h.inline?.byteLength ?? 0;
    for (let i = 2; i < frames.length; i++) bytes += frames[i].byteLength;
    if (h.kind === Kind.Shared) bytes = (data as AnyTypedArray).byteLength;
    // Large typed arrays are acked (the sender's buffer, or its segment, is free again then).
    const ack = h.kind === Kind.Shared || (h.kind === Kind.Typed && bytes > COPY_BELOW) ? () => this.sendControl(peer, Kind.Ack, h.seq) : undefined;
    if (h.ctx < this.nextCtx && !this.matcher.isRegistered(h.ctx)) {
      this.dropped++; // mail for a communicator this rank freed
      ack?.();
      return;
    }
    const m: Incoming = { ctx: h.ctx, src: h.src, tag: h.tag, data, bytes };
    const withhold = ack !== undefined && this.matcher.queued(h.src) + bytes > UNEXPECTED_LIMIT;
    if (withhold) m.onConsume = ack;
    const matched = this.matcher.arrive(m);
    // The ack goes after the receiver's continuation has run (the next step of whoever waited for the message):
    // sending it wakes zmq's I/O thread, which takes this core for about 0.1 ms, a third of a tile's latency.
    if (ack && (!withhold || matched)) setImmediate(ack);
  }

  private onControl(frames: Buffer[]): void {
    const got = this.admit(frames);
    if (!got) return;
    const { h, peer } = got;
    if (h.kind === Kind.Ack) {
      const a = peer.acks.get(h.seq);
      if (a) {
        peer.acks.delete(h.seq);
        a.resolve();
      }
    } else {
      throw new ProtocolError(`kind ${h.kind} on the control stream`, { rank: this.rank, op: 'receive', peer: h.src });
    }
  }

  private sendControl(peer: Peer, kind: Kind.Ack, seq: number): void {
    if (peer.failure) return;
    const frames = encodeControl(kind, { job: this.job, epoch: this.epoch, ctx: 0, src: this.rank, tag: 0, seq });
    peer.ctl.push(frames).catch(() => undefined); // a lost peer is reported through its operations
  }

  private onDisconnect(r: number, control: boolean): void {
    const p = this.peers[r];
    if (!p || p.failure || p.byeReceived || this.closed) return;
    const why = control
      ? `no answer to heartbeats for ${this.env.peerTimeoutMs} ms (DARRAY_PEER_TIMEOUT_MS), or its process exited`
      : 'connection closed (its process exited)';
    // A peer closes in order only after our bye, so outside finalize a lost connection is a lost peer. Inside
    // finalize its bye may still sit unread in our inbox: give that a moment first.
    if (!this.closing) this.fail(r, why);
    else setTimeout(() => !p.failure && !p.byeReceived && !this.closed && this.fail(r, why), 500).unref();
  }

  /** Declares world rank `r` lost: every pending and future operation that needs it rejects with PeerFailedError. */
  fail(r: number, reason: string): void {
    const p = this.peers[r];
    if (!p || p.failure) return;
    p.reason = reason;
    p.failure = this.peerError(r, 'send', undefined);
    // Tells our launcher that a failure of this rank from now on may be a consequence of losing `r`, so that
    // it reports the rank that failed first (scripts/launcher/job.ts). Only in the launcher's ipc run dir.
    if (this.env.rundir && !this.env.ownsRundir) {
      try {
        appendFileSync(`${this.env.rundir}/lost-${this.rank}`, `${r}\n`, { mode: 0o600 });
      } catch { /* best effort: the launcher then reports the lowest failing rank */ }
    }
    this.matcher.failPeer(r);
    for (const a of p.acks.values()) a.reject(p.failure);
    p.acks.clear();
    // A collective send to a live rank waits for an ack that rank may never give (it waits on the lost one):
    // every collective call on a communicator that includes `r` fails, on every rank (see Matcher.failPeer).
    for (const q of this.peers) {
      if (!q || q === p) continue;
      for (const [seq, a] of q.acks) {
        if (a.ctx % 2 === 1 && this.matcher.includes(a.ctx, r)) {
          q.acks.delete(seq);
          a.reject(this.peerError(r, a.op, a.tag));
        }
      }
    }
    p.data.drain(p.failure);
    p.ctl.drain(p.failure);
    p.byeWaiter?.();
  }

  /** Lines for the SIGUSR2 dump: every blocked operation with its context, peer, tag and age. */
  pendingReport(label: (ctx: number) => string): string[] {
    const now = Date.now();
    const lines: string[] = [];
    for (const r of this.matcher.pending(now)) {
      const peer = r.src === ANY_SOURCE ? 'ANY_SOURCE' : String(r.src);
      lines.push(`${r.op}: waiting to receive on ${label(r.ctx)} from peer ${peer}, tag ${r.tag < 0 ? 'ANY_TAG' : r.tag}, for ${r.ms} ms`);
    }
    for (const p of this.peers) {
      if (!p) continue;
      for (const s of p.sends) {
        lines.push(`${s.op}: waiting to send on ${label(s.ctx)} to peer ${p.rank}, tag ${s.tag}, for ${now - s.since} ms${p.failure ? ' (peer failed)' : ''}`);
      }
    }
    return lines;
  }

  /**
   * Drops out at once, without the goodbye: every socket closes, peers see this rank as failed. For a process
   * that is going down anyway, and for tests that need a rank to vanish.
   */
  abort(): void {
    if (this.closed) return;
    this.closing = true;
    this.closed = true;
    for (const p of this.peers) {
      p?.data.drain(this.closedError('abort'));
      p?.ctl.drain(this.closedError('abort'));
    }
    this.closeSockets();
    for (const f of this.ownFiles) rmSync(f, { force: true });
    if (this.env.ownsRundir && this.rank === 0 && this.env.rundir) rmSync(this.env.rundir, { recursive: true, force: true });
  }

  /** Orderly shutdown (collective over the live ranks): bye to every peer, wait for theirs, close sockets. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const live = this.peers.filter((p): p is Peer => !!p && !p.failure);
    const bye = encodeControl(Kind.Bye, { job: this.job, epoch: this.epoch, ctx: 0, src: this.rank, tag: 0, seq: 0 });
    await Promise.all(
      live.map(async (p) => {
        await p.data.push(bye).catch(() => undefined);
        if (!p.byeReceived && !p.failure) await new Promise<void>((resolve) => (p.byeWaiter = resolve));
      }),
    );
    // Our acks and byes must reach the peers still waiting for them: let the queues empty, bounded.
    const until = Date.now() + Math.min(2000, this.env.peerTimeoutMs);
    while (Date.now() < until && live.some((p) => !p.failure && !(p.ctl.idle && p.data.idle))) {
      await new Promise((r) => setTimeout(r, 5));
    }
    this.closed = true;
    for (const p of this.peers) {
      if (!p) continue;
      p.data.drain(this.closedError('finalize'));
      p.ctl.drain(this.closedError('finalize'));
      if (!p.failure) {
        p.data.sock.linger = 1000;
        p.ctl.sock.linger = 1000;
      }
    }
    this.closeSockets();
    for (const f of this.ownFiles) rmSync(f, { force: true });
    if (this.env.ownsRundir && this.rank === 0 && this.env.rundir) rmSync(this.env.rundir, { recursive: true, force: true });
  }
}

/**
 * The world rank a message came from, by the routing id (`String(rank)`, set on every rank's DEALERs) that the
 * receiving ROUTER puts first; -1 for any other id, and for this rank's own (no rank sends to itself).
 */
export function senderRank(id: Buffer | undefined, size: number, self: number): number {
  if (!id || id.byteLength === 0 || id.byteLength > 10) return -1;
  let r = 0;
  for (let i = 0; i < id.byteLength; i++) {
    const c = id[i] - 48;
    if (c < 0 || c > 9 || (i === 0 && c === 0 && id.byteLength > 1)) return -1;
    r = r * 10 + c;
  }
  return r < size && r !== self ? r : -1;
}

/** A routing id as a log shows it: printable ids as text, others (ZeroMQ's generated ones) in hex. */
export function routingIdText(id: Buffer | undefined): string {
  if (!id || id.byteLength === 0) return '(none)';
  const b = id.subarray(0, 32);
  const text = /^[\x21-\x7e]+$/.test(b.toString('latin1')) ? JSON.stringify(b.toString('latin1')) : `0x${b.toString('hex')}`;
  return id.byteLength > 32 ? `${text}...` : text;
}

/** Makes (or checks) the job's private socket directory: it must be ours and closed to everyone else. */
function prepareRundir(dir: string, rank: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const uid = process.getuid?.();
  if ((uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new CommError(`socket directory ${dir} must be owned by this user with mode 0700 (it is ${(st.mode & 0o777).toString(8)})`, { rank, op: 'init' });
  }
}
