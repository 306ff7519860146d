// Benchmark: allreduce (8 B, 1 MiB, 64 MiB) and bcast (64 MiB) at 2 and 4 ranks through the real Comm, each
// beside Open MPI's MPI_Allreduce/MPI_Bcast (bench/osu_mpi.c) measured in the same run. JSON lines on stdout.
// Run: npx tsx bench/comm-collectives.ts [--ranks 2,4]. Under the launcher (DARRAY_RANK set) it is the worker.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface Case { op: 'allreduce' | 'bcast'; bytes: number; iters: number; warmup: number }
const CASES: Case[] = [
  { op: 'allreduce', bytes: 8, iters: 500, warmup: 20 },
  { op: 'allreduce', bytes: 1 << 20, iters: 40, warmup: 4 },
  { op: 'allreduce', bytes: 64 << 20, iters: 8, warmup: 2 },
  { op: 'bcast', bytes: 64 << 20, iters: 8, warmup: 2 },
];
interface Result { op: string; bytes: number; ranks: number; us: number }

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

/** Worker: times each case as osu_mpi.c does (barrier between calls, max over ranks of the mean). */
async function worker(): Promise<void> {
  const { init, finalize } = await import('../src/comm/index.js');
  const comm = await init();
  for (const c of CASES) {
    const n = c.bytes / 8;
    const x = Float64Array.from({ length: n }, (_, i) => ((i * 7 + comm.rank * 13) % 23) - 11);
    let total = 0;
    for (let it = 0; it < c.warmup + c.iters; it++) {
      await comm.barrier();
      const t0 = process.hrtime.bigint();
      const out = c.op === 'allreduce' ? await comm.allreduce(x, 'sum') : await comm.bcast(comm.rank === 0 ? x : undefined, 0);
      const dt = Number(process.hrtime.bigint() - t0) / 1e3;
      if (it >= c.warmup) total += dt;
      if (out?.length !== n) throw new Error(`${c.op}: wrong length ${out?.length}`);
    }
    const worst = await comm.allreduce(total / c.iters, 'max');
    if (comm.rank === 0) console.log(JSON.stringify({ op: c.op, bytes: c.bytes, ranks: comm.size, us: worst }));
  }
  await finalize();
}

function parseLines(text: string): Result[] {
  return text.split('\n').map((l) => l.replace(/^\[\d+\]\s*/, '')).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Result);
}

function run(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 600_000, maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout || '').slice(-2000)}`);
  return r.stdout;
}

/** Driver: compiles the Open MPI reference, runs both at each rank count, prints one line per case. */
function driver(): void {
  const arg = process.argv.indexOf('--ranks');
  const rankCounts = arg > 0 ? process.argv[arg + 1].split(',').map(Number) : [2, 4];
  const dir = mkdtempSync(path.join(tmpdir(), 'darray-osu-'));
  try {
    const exe = path.join(dir, 'osu_mpi');
    execFileSync('mpicc', ['-O2', '-o', exe, path.join(here, 'osu_mpi.c')], { stdio: 'inherit' });
    for (const n of rankCounts) {
      const mpiArgs = CASES.flatMap((c) => [c.op, String(c.bytes), String(c.iters), String(c.warmup)]);
      const ref = parseLines(run('mpirun', ['--allow-run-as-root', '--oversubscribe', '-n', String(n), exe, ...mpiArgs], `Open MPI at ${n} ranks`));
      const ours = parseLines(run(process.execPath, ['--import', 'tsx', path.join(root, 'scripts', 'mpirun.ts'),
        '--timeout', '500', '-n', String(n), path.join(here, 'comm-collectives.ts')], `darray at ${n} ranks`));
      for (const c of CASES) {
        const o = ours.find((r) => r.op === c.op && r.bytes === c.bytes);
        const m = ref.find((r) => r.op === c.op && r.bytes === c.bytes);
        if (!o || !m) throw new Error(`missing result for ${c.op} ${c.bytes} B at ${n} ranks`);
        console.log(JSON.stringify({
          bench: 'comm-collectives', op: c.op, bytes: c.bytes, ranks: n,
          darray_us: Number(o.us.toFixed(2)), openmpi_us: Number(m.us.toFixed(2)),
          ratio: Number((o.us / m.us).toFixed(3)), // darray time / Open MPI time: below 1 is faster
          darray_GBps: Number((c.bytes / o.us / 1e3).toFixed(3)), openmpi_GBps: Number((c.bytes / m.us / 1e3).toFixed(3)),
        }));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.DARRAY_RANK !== undefined) await worker();
else driver();
