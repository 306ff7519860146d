// Raw zeromq reference for bench/comm.ts: a PUSH/PULL pair on ipc between two Node processes (no darray), and
// the OSU-style ping-pong latency and windowed bandwidth loops that both this reference and Comm run.
// Run alone (npx tsx bench/zmq-raw-pingpong.ts) it starts its partner process and prints JSON lines.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zmq from 'zeromq';

/** What the measuring loops need from a transport between rank 0 and rank 1. */
export interface Pair {
  sendSmall(): Promise<void>;
  recvSmall(): Promise<unknown>;
  /** Sends `n` copies of `buf` in order; resolves when all may be reused. */
  sendWindow(buf: Uint8Array, n: number): Promise<void>;
  /** Receives one large message, returning its byte length. */
  recvBig(): Promise<number>;
}

export const PLAN = {
  latency: { bytes: 8, iters: 2000, warmup: 200 },
  bandwidth: [
    { bytes: 1 << 20, window: 32, iters: 5, warmup: 1 },
    { bytes: 16 << 20, window: 8, iters: 4, warmup: 1 },
  ],
};

/** One-way latency in microseconds: half the mean round trip of PLAN.latency.bytes. */
export async function latency(p: Pair, rank: number): Promise<number> {
  const { iters, warmup } = PLAN.latency;
  let t0 = 0;
  for (let i = 0; i < warmup + iters; i++) {
    if (i === warmup) t0 = performance.now();
    if (rank === 0) {
      await p.sendSmall();
      await p.recvSmall();
    } else {
      await p.recvSmall();
      await p.sendSmall();
    }
  }
  return ((performance.now() - t0) * 1000) / iters / 2;
}

/** Bandwidth in MB/s: rank 0 sends windows of `bytes`-sized messages, rank 1 answers each window with a small one. */
export async function bandwidth(p: Pair, rank: number, bw: (typeof PLAN.bandwidth)[number]): Promise<number> {
  const buf = new Uint8Array(bw.bytes).fill(7);
  let t0 = 0;
  for (let it = 0; it < bw.warmup + bw.iters; it++) {
    if (it === bw.warmup) t0 = performance.now();
    if (rank === 0) {
      await p.sendWindow(buf, bw.window);
      await p.recvSmall();
    } else {
      for (let w = 0; w < bw.window; w++) {
        const n = await p.recvBig();
        if (n !== bw.bytes) throw new Error(`bandwidth: got ${n} bytes, expected ${bw.bytes}`);
      }
      await p.sendSmall();
    }
  }
  return (bw.bytes * bw.window * bw.iters) / ((performance.now() - t0) / 1000) / 1e6;
}

/** A raw zeromq pair: this process binds `ipc://dir/raw-<rank>.sock` and connects to the other's. */
export async function rawPair(rank: number, dir: string): Promise<Pair & { close(): void; ready(): Promise<void> }> {
  const inbox = new zmq.Pull({ linger: 0 });
  const outbox = new zmq.Push({ linger: 0 });
  await inbox.bind(`ipc://${dir}/raw-${rank}.sock`);
  outbox.connect(`ipc://${dir}/raw-${1 - rank}.sock`);
  const small = Buffer.alloc(PLAN.latency.bytes, 1);
  const p: Pair & { close(): void; ready(): Promise<void> } = {
    sendSmall: () => outbox.send(small),
    recvSmall: () => inbox.receive(),
    async sendWindow(buf, n) {
      const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
      for (let i = 0; i < n; i++) await outbox.send(b);
    },
    recvBig: async () => (await inbox.receive())[0].byteLength,
    close() {
      inbox.close();
      outbox.close();
    },
    async ready() {
      // one exchange both ways, so that neither side measures the connection set-up
      if (rank === 0) {
        await p.sendSmall();
        await p.recvSmall();
      } else {
        await p.recvSmall();
        await p.sendSmall();
      }
    },
  };
  return p;
}

async function standalone(rank: number, dir: string): Promise<void> {
  const p = await rawPair(rank, dir);
  await p.ready();
  const rows: object[] = [{ impl: 'zmq', test: 'latency', bytes: PLAN.latency.bytes, us: +(await latency(p, rank)).toFixed(2) }];
  for (const bw of PLAN.bandwidth) rows.push({ impl: 'zmq', test: 'bandwidth', bytes: bw.bytes, MBps: +(await bandwidth(p, rank, bw)).toFixed(1) });
  if (rank === 0) for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
  p.close();
}

// Run only as a program, not when bench/comm.ts imports from here.
const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain && process.argv[2] === 'partner') {
  await standalone(1, process.argv[3]);
} else if (isMain) {
  const dir = mkdtempSync(join(tmpdir(), 'darray-rawpp-'));
  try {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'partner', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise<number | null>((res) => child.on('exit', res));
    const guard = setTimeout(() => child.kill('SIGKILL'), 300_000);
    await standalone(0, dir);
    const code = await exited;
    clearTimeout(guard);
    if (code !== 0) throw new Error(`raw ping-pong partner exited with ${code}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
