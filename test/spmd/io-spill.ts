// spmd: ranks=1,2,3,4 timeout=240
// SPMD test of spilling: with each rank's memory limit at half its share of a matrix, elementwise operations,
// reductions, redistribute, matmul and a Cholesky complete with the serial reference's answer while tiles
// spill and come back, the Cholesky, triangular solve, matmul and elementwise operations without holding much
// more than the limit;
// a file-backed array larger than the limit is reduced tile by tile.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { finalize, init } from '../../src/comm/index.js';
import { fromFunction } from '../../src/darray/index.js';
import { memoryStats, open, save, setMemoryLimit } from '../../src/darray/io/index.js';
import * as ref from '../../src/kernels/reference.js';
import { tileStore } from '../../src/darray/store/index.js';
import { cholesky, matmul, triangularSolve } from '../../src/linalg/index.js';
import { dense, expectClose, hashVal } from './_linalg.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
/** Collects dropped tile arrays so the store can spill them now rather than at V8's next collection. */
async function settle(): Promise<void> {
  for (let i = 0; i < 2; i++) { gc(); await new Promise((r) => setTimeout(r, 5)); }
}

const comm = await init();
const me = comm.rank;
const n = 192, b = 32;
const share = Math.ceil((n * n * 8) / comm.size);
// The matrix is twice the limit on every rank (ranks share it about evenly on the default grid).
setMemoryLimit(Math.floor(share / 2));

// Most tile bytes resident at once per operation, checked against the limit: tiles must spill as the
// operation goes, not be held until it ends. The slack is the tiles that kernels and sends in flight pin.
const peaks: string[] = [];
async function withinLimit<T>(what: string, fn: () => Promise<T>): Promise<T> {
  await settle();
  tileStore.resetPeak();
  const r = await fn();
  const { peakResidentBytes: peak, limit } = memoryStats();
  const bound = 1.5 * limit + 4 * b * b * 8;
  if (peak > bound) throw new Error(`rank ${me}: ${what} held ${peak} B of tiles at once, limit ${limit} B (bound ${bound} B)`);
  peaks.push(`${what} ${(peak / limit).toFixed(2)}`);
  return r;
}

const spd = (i: number, j: number) => (i === j ? n : 0) + hashVal(Math.min(i, j), Math.max(i, j), 3);
const A = await fromFunction(comm, [n, n], spd, { blockSize: [b, b] });
await settle();
const a = await dense(A);                   // collected on every rank: the serial reference's input

// Cholesky against serial POTRF.
const L = await withinLimit('cholesky', () => cholesky(A));
const want = Float64Array.from(a.data);
ref.potrf('L', n, { data: want, ld: n });
for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) want[i * n + j] = 0;
expectClose(comm, 'cholesky under the memory limit', (await dense(L)).data, want, 1e-11);
// In place: A's own tiles, spilled and read back as the factorization goes, become L.
const W = await A.copy();
const Lw = await withinLimit('cholesky in place', () => cholesky(W, { overwrite: true }));
expectClose(comm, 'cholesky in place under the memory limit', (await dense(Lw)).data, want, 1e-11);

// Triangular solve L X = A against serial TRSM.
const X = await withinLimit('triangularSolve', () => triangularSolve(L, A));
const x = Float64Array.from(a.data);
ref.trsm('L', 'L', false, 'N', n, n, 1, { data: want, ld: n }, { data: x, ld: n });
expectClose(comm, 'triangularSolve under the memory limit', (await dense(X)).data, x, 1e-11);

// Elementwise, reductions, redistribute, matmul.
const B = await withinLimit('map', () => A.map((x) => 2 * x - 1));
const C = await withinLimit('add', () => A.add(B));
await settle();
const c = (await dense(C)).data;
for (let k = 0; k < n * n; k++) {
  if (c[k] !== a.data[k] + (2 * a.data[k] - 1)) throw new Error(`rank ${me}: A + map(A) differs at ${k}: ${c[k]}`);
}
let serialSum = 0;
for (const x of a.data) serialSum += x;
const s = await withinLimit('sum', () => A.sum());
if (Math.abs(s - serialSum) > 1e-9 * Math.abs(serialSum)) throw new Error(`rank ${me}: sum ${s}, serial ${serialSum}`);
const R = await A.redistribute({ blockSize: [48, 40] });
expectClose(comm, 'redistribute under the memory limit', (await dense(R)).data, a.data, 0);
const P = await withinLimit('matmul', () => matmul(A, B));
const p = new Float64Array(n * n);
ref.gemm(false, false, n, n, n, 1, { data: a.data, ld: n }, { data: (await dense(B)).data, ld: n }, 0, { data: p, ld: n });
expectClose(comm, 'matmul under the memory limit', (await dense(P)).data, p, 1e-12);

// Each rank that holds tiles spilled some and brought them back.
const st = memoryStats();
if (st.spills === 0 || st.restores === 0) throw new Error(`rank ${me}: nothing spilled or restored: ${JSON.stringify(st)}`);

// A stored array twice the limit, opened and reduced tile by tile: every tile read once from the file.
const dir = await comm.bcast(me === 0 ? fs.mkdtempSync(path.join(os.tmpdir(), 'darray-io-spill-')) : '', 0);
try {
  const store = path.join(dir, 'a.zarr');
  await save(A, store);
  const reads0 = memoryStats().fileReads;
  const F = await open(comm, store);
  const fs2 = await (await F.map((x) => x * x)).sum();
  let serialSq = 0;
  for (const x of a.data) serialSq += x * x;
  if (Math.abs(fs2 - serialSq) > 1e-9 * serialSq) throw new Error(`rank ${me}: sum of squares ${fs2}, serial ${serialSq}`);
  const reads = memoryStats().fileReads - reads0;
  const mine = F.localTiles().length;
  if (reads !== mine) throw new Error(`rank ${me}: ${reads} chunk reads for ${mine} local tiles`);
} finally {
  await comm.barrier();
  if (me === 0) fs.rmSync(dir, { recursive: true, force: true });
}
const all = await comm.gather(memoryStats(), 0);
const allPeaks = await comm.gather(peaks.join(', '), 0);
if (me === 0) {
  console.log(`io-spill: cholesky (also in place)/triangularSolve/map/add/sum/redistribute/matmul/open correct at limit ${Math.floor(share / 2)} B per rank on ${comm.size} ranks; ` +
    `spills per rank ${all!.map((x) => x.spills).join(',')}, restores ${all!.map((x) => x.restores).join(',')}; ` +
    `peak over limit per rank: ${(allPeaks as string[]).map((p, r) => `[${r}] ${p}`).join('; ')}`);
}
await finalize();
