// Point-to-point benchmark of Comm (npm run bench:comm): OSU-style 8 B ping-pong latency and 1/16 MiB windowed
// bandwidth between 2 ranks, each printed as a JSON line beside raw zeromq (bench/zmq-raw-pingpong.ts) measured
// in the same job, alternating round by round so that both see the same machine load, with the ratio. Latency
// also gets the median of the per-round ratios: on a shared machine the load drifts between rounds, and a
// ratio taken within one round (two back-to-back runs) is steadier than a ratio of medians taken apart.
// Started plainly it launches itself on 2 ranks; under the launcher (DARRAY_RANK set) it measures.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLAN, bandwidth, latency, rawPair, type Pair } from './zmq-raw-pingpong.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Latency rounds are short (a few hundred ms): more of them, in alternating order, so that neither always goes first. */
const LATENCY_ROUNDS = Number(process.env.BENCH_LATENCY_ROUNDS ?? 3 * ROUNDS);

async function rankMain(): Promise<void> {
  const { init, finalize } = await import('../src/comm/index.js');
  const comm = await init();
  if (comm.size !== 2) throw new Error(`bench/comm.ts needs exactly 2 ranks, got ${comm.size}`);
  const peer = 1 - comm.rank;
  const small = new Uint8Array(PLAN.latency.bytes).fill(1);
  const darray: Pair = {
    sendSmall: () => comm.send(small, peer, 1),
    recvSmall: () => comm.recv(peer, 1),
    sendWindow: async (buf, n) => void (await Promise.all(Array.from({ length: n }, () => comm.send(buf, peer, 2)))),
    recvBig: async () => (await comm.recv<Uint8Array>(peer, 2)).byteLength,
  };
  // The raw pair lives in a directory rank 0 makes and announces (the job's own rundir is the launcher's).
  const dir = comm.rank === 0 ? mkdtempSync(join(tmpdir(), 'darray-bench-')) : '';
  const rawDir = await comm.bcast(dir, 0);
  const raw = await rawPair(comm.rank, rawDir);
  await comm.barrier(); // both bound
  await raw.ready();

  const results = new Map<string, number[]>(); // "impl test bytes" -> one figure per round
  const add = (k: string, v: number) => results.set(k, [...(results.get(k) ?? []), v]);
  const pairs = [['zmq', raw], ['darray', darray]] as const;
  const roundRatios: number[] = []; // darray / zmq latency within each round
  for (let round = 0; round < LATENCY_ROUNDS; round++) {
    const us: Record<string, number> = {};
    for (const [impl, p] of round % 2 ? [...pairs].reverse() : pairs) {
      us[impl] = await latency(p, comm.rank);
      add(`${impl} latency ${PLAN.latency.bytes}`, us[impl]);
    }
    roundRatios.push(us.darray / us.zmq);
  }
  for (let round = 0; round < ROUNDS; round++) {
    for (const [impl, p] of pairs) {
      for (const bw of PLAN.bandwidth) add(`${impl} bandwidth ${bw.bytes}`, await bandwidth(p, comm.rank, bw));
    }
  }
  raw.close();
  if (comm.rank === 0) {
    rmSync(dir, { recursive: true, force: true });
    const stats = (k: string, better: 'min' | 'max') => {
      const v = [...results.get(k)!].sort((a, b) => a - b);
      return { best: better === 'min' ? v[0] : v[v.length - 1], median: v[Math.floor(v.length / 2)] };
    };
    const r2 = (x: number) => +x.toFixed(2);
    const lat = PLAN.latency.bytes;
    const [dl, zl] = [stats(`darray latency ${lat}`, 'min'), stats(`zmq latency ${lat}`, 'min')];
    const out = (o: object) => process.stdout.write('BENCH ' + JSON.stringify(o) + '\n');
    const roundRatio = [...roundRatios].sort((a, b) => a - b)[Math.floor(roundRatios.length / 2)];
    out({ bench: 'p2p_latency', bytes: lat, unit: 'us', darray: r2(dl.best), zmq_raw: r2(zl.best), ratio: r2(dl.best / zl.best), median_ratio: r2(dl.median / zl.median), median_round_ratio: r2(roundRatio), target: '<= 1.5', rounds: LATENCY_ROUNDS });
    for (const bw of PLAN.bandwidth) {
      const [db, zb] = [stats(`darray bandwidth ${bw.bytes}`, 'max'), stats(`zmq bandwidth ${bw.bytes}`, 'max')];
      out({ bench: 'p2p_bandwidth', bytes: bw.bytes, unit: 'MB/s', darray: r2(db.best), zmq_raw: r2(zb.best), ratio: r2(db.best / zb.best), median_ratio: r2(db.median / zb.median), ...(bw.bytes >= 16 << 20 ? { target: '>= 0.8' } : {}), window: bw.window, rounds: ROUNDS });
    }
  }
  await finalize();
}

/** Launches this file on 2 ranks and passes its result lines through as plain JSON lines. */
function orchestrate(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = join(here, '..');
  const args = ['--import', 'tsx', join(root, 'scripts', 'mpirun.ts'), '--timeout', '600', '-n', '2', fileURLToPath(import.meta.url)];
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const lines = text.split('\n').filter((l) => l.includes('BENCH {'));
      for (const l of lines) process.stdout.write(l.slice(l.indexOf('BENCH {') + 6) + '\n');
      if (code !== 0 || lines.length === 0) reject(new Error(`benchmark job exited with ${code}:\n${text.slice(-4000)}`));
      else resolveRun();
    });
  });
}

if (process.env.DARRAY_RANK !== undefined) await rankMain();
else await orchestrate();
