// spmd: ranks=1,2,3,4 timeout=60 env=DARRAY_BIND=core|none
// SPMD test of core binding under darray-run: with DARRAY_BIND=core every thread of each rank runs on its own
// share of the CPUs the launcher may use (shares disjoint across the host's ranks), unless the ranks outnumber
// the CPUs; with none, every thread keeps the launcher's CPUs. Read from /proc, independently of the addon.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import * as da from '../../src/index.js';

/** A Cpus_allowed_list ("0-2,5") as CPU ids. */
function cpuList(status: string): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)![1];
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    return Array.from({ length: (b ?? a) - a + 1 }, (_, i) => a + i);
  });
}

const comm = await da.init();
// A kernel has run, so the addon (which binds) is loaded even at one rank.
const A = await da.ones(comm, [8, 8], { blockSize: [4, 4] });
await da.matmul(A, A);

const launcherCpus = cpuList(readFileSync(`/proc/${process.ppid}/status`, 'utf8'));
const threads = readdirSync('/proc/self/task').map((t) => cpuList(readFileSync(`/proc/self/task/${t}/status`, 'utf8')));
const localSize = Number(process.env.DARRAY_LOCAL_SIZE);
const localRank = Number(process.env.DARRAY_LOCAL_RANK);
const share = Math.floor(launcherCpus.length / localSize);
const expected = process.env.DARRAY_BIND === 'core' && share >= 1
  ? launcherCpus.slice(localRank * share, (localRank + 1) * share)
  : launcherCpus;
for (const cpus of threads) assert.deepEqual(cpus, expected, `rank ${comm.rank}: a thread on CPUs ${cpus}, expected ${expected}`);

const all = (await comm.allgather(expected)) as number[][];
if (process.env.DARRAY_BIND === 'core' && share >= 1) {
  const seen = all.flat();
  assert.equal(new Set(seen).size, seen.length, `bound ranks share CPUs: ${JSON.stringify(all)}`);
}
console.log(`affinity ok at rank ${comm.rank} of ${comm.size}: CPUs ${expected.join(',')} (${threads.length} threads)`);
await da.finalize();
