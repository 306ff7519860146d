// Runs an SPMD program under Open MPI's own launcher (`mpirun -n 3 npx tsx prog.ts`): ranks come from the
// OMPI_COMM_WORLD_* variables and meet through an ipc socket under $TMPDIR/darray-<uid>, which is removed after.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const hasMpirun = spawnSync('mpirun', ['--version'], { stdio: 'ignore' }).status === 0;

describe('comm under Open MPI mpirun', function () {
  this.timeout(120_000);
  it('runs test/spmd/comm-split.ts on 3 ranks and leaves no socket directory behind', async function () {
    if (!hasMpirun) this.skip(); // CI installs openmpi-bin; skip only where it is absent
    const asRoot = process.getuid?.() === 0 ? ['--allow-run-as-root'] : [];
    const args = [...asRoot, '--oversubscribe', '-n', '3', 'npx', 'tsx', 'test/spmd/comm-split.ts'];
    const out = await new Promise<{ code: number | null; text: string }>((res, rej) => {
      const child = spawn('mpirun', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (b: Buffer) => (text += b));
      child.stderr.on('data', (b: Buffer) => (text += b));
      const guard = setTimeout(() => child.kill('SIGKILL'), 100_000);
      child.on('error', rej);
      child.on('close', (code) => {
        clearTimeout(guard);
        res({ code, text });
      });
    });
    assert.equal(out.code, 0, out.text.slice(-3000));
    for (let r = 0; r < 3; r++) assert.match(out.text, new RegExp(`comm-split ok at rank ${r} of 3`));
    const base = join(tmpdir(), `darray-${process.getuid?.() ?? 0}`);
    if (existsSync(base)) assert.deepEqual(readdirSync(base), [], `leftover job directories in ${base}`);
  });
});
