// Crash safety of da.save: a 2-rank job saves over an existing store while one of its ranks is killed
// (SIGKILL) at a random moment of the save; 20 times (IO_CRASH_RUNS), and after each the store must load as
// entirely the previous array or entirely the new one, never a mix, and hold no leftovers of the dead save.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Comm } from '../../src/comm/index.js';
import { load } from '../../src/darray/io/index.js';
import { tsxLoaderUrl } from '../../scripts/launcher/program.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.IO_CRASH_RUNS ?? 20);
const [ROWS, COLS, B] = [192, 160, 16];

/** The program each job runs: fill generation `gen`, arm the kill, save, report how long the save took. */
const PROGRAM = `
import { init, finalize } from ${JSON.stringify(path.join(root, 'src/comm/index.ts'))};
import { fromFunction } from ${JSON.stringify(path.join(root, 'src/darray/index.ts'))};
import { save } from ${JSON.stringify(path.join(root, 'src/darray/io/index.ts'))};
const [store, gen, killRank, delayMs] = process.argv.slice(2).map((x, i) => (i === 0 ? x : Number(x)));
const comm = await init();
const A = await fromFunction(comm, [${ROWS}, ${COLS}], (i, j) => gen * 1e6 + i * ${COLS} + j, { blockSize: [${B}, ${B}] });
await comm.barrier();
if (comm.rank === killRank) setTimeout(() => process.kill(process.pid, 'SIGKILL'), delayMs);
const t0 = performance.now();
await save(A, store, { compression: gen % 2 ? 'zlib' : 'none' });
if (comm.rank === 0) console.log('SAVE_MS ' + (performance.now() - t0));
await finalize();
`;

/** A lone-rank stand-in: load on one rank needs only rank and size. */
const lone = { rank: 0, size: 1 } as unknown as Comm;

/** The single generation the store holds; fails on a mix of generations or a wrong element. */
async function generationOf(store: string): Promise<number> {
  const A = await load(lone, store);
  const d = (await A.collect()).data;
  const gen = Math.round((d[0] - 0) / 1e6);
  for (let k = 0; k < d.length; k++) {
    if (d[k] !== gen * 1e6 + k) assert.fail(`element ${k} is ${d[k]}: not generation ${gen} (a mixed store)`);
  }
  return gen;
}

describe('io: a rank killed during save leaves the old or the new store', function () {
  this.timeout(60000 + RUNS * 30000);

  it(`${RUNS} saves with a rank killed at random moments`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darray-io-crash-'));
    const prog = path.join(dir, 'save-job.mts');
    fs.writeFileSync(prog, PROGRAM);
    const store = path.join(dir, 'ckpt.zarr');
    const job = (gen: number, killRank: number, delay: number) => spawnSync(process.execPath,
      ['--import', tsxLoaderUrl(), path.join(root, 'scripts/mpirun.ts'), '-n', '2', '--timeout', '60', prog, store, String(gen), String(killRank), String(delay)],
      { cwd: root, encoding: 'utf8', timeout: 90000 });
    try {
      const first = job(1, -1, 0);
      assert.equal(first.status, 0, first.stdout + first.stderr);
      const saveMs = Number(/SAVE_MS ([\d.]+)/.exec(first.stdout)?.[1]);
      assert.equal(await generationOf(store), 1);
      const outcomes = { old: 0, new: 0 };
      for (let r = 0; r < RUNS; r++) {
        const before = await generationOf(store);
        const gen = r + 2;
        // Delays spread over the whole save (and a little past it); the first run kills at once.
        const delay = r === 0 ? 0 : Math.round(Math.random() * saveMs * 1.2);
        const res = job(gen, r % 2, delay);
        const after = await generationOf(store);
        assert.ok(after === before || after === gen,
          `run ${r} (kill rank ${r % 2} after ${delay} ms, exit ${res.status}): store holds generation ${after}, expected ${before} or ${gen}`);
        if (after === gen) outcomes.new++; else outcomes.old++;
        const left = fs.readdirSync(dir).filter((f) => f.includes('.darray-'));
        assert.deepEqual(left, [], `run ${r}: leftovers after load: ${left}`);
      }
      assert.ok(outcomes.old >= 1, 'a kill at the start of a save keeps the old store');
      console.log(`      save took ${saveMs.toFixed(0)} ms; after ${RUNS} killed saves: ${outcomes.old} old, ${outcomes.new} new`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
