// Issue 6, item 2: a peer is SIGSTOPped (hangs) during each collective: every other rank gets PeerFailedError
// naming it within the heartbeat timeout (1 s here) plus 1 s. With a long heartbeat timeout and --timeout the
// job exits 110 and each blocked rank dumps the operation it waits in (communicator, peer, tag).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { alive, bundle, launch, rankPids, removeBundle, scratch } from './harness.js';

// Collectives only: a point-to-point call fails only when it involves the lost rank (test/spmd/comm-failure.ts).
const OPS = ['barrier', 'bcast', 'reduce', 'allreduce', 'gather', 'allgather', 'scatter', 'alltoall', 'split'];
const NP = 4;
const HB_MS = 1000;

describe('faults: a hung peer is detected', function () {
  this.timeout(0);
  const times: number[] = [];
  let program = ''; // die.ts, bundled once: ranks start through plain node instead of compiling it each time
  before(async () => { program = await bundle('die.ts'); });
  after(() => {
    if (program) removeBundle(program);
    if (times.length === 0) return;
    const sorted = [...times].sort((a, b) => a - b);
    console.log(`      ${times.length} detections of a stopped peer: ${sorted[0]}..${sorted[sorted.length - 1]} ms (median ${sorted[Math.floor(sorted.length / 2)]} ms, bound ${HB_MS} + 1000 ms)`);
  });

  OPS.forEach((op, i) => {
    const victim = (i * 3 + 2) % NP;
    it(`rank ${victim} stops in ${op}: the ${NP - 1} others get PeerFailedError naming it`, async () => {
      const dir = scratch('hang');
      try {
        const r = await launch(['-n', String(NP), '--timeout', '60', '-x', `DARRAY_PEER_TIMEOUT_MS=${HB_MS}`, program, 'stop', op, String(victim), dir, '5']);
        const why = `code ${r.code}\nstdout:\n${r.out.slice(-2000)}\nstderr:\n${r.err.slice(-1500)}`;
        const lines = r.out.split('\n').filter((l) => l.includes(' detected '));
        assert.equal(lines.length, NP - 1, why);
        for (const l of lines) {
          const m = /^\[(\d+)\] detected (\w+) (\d+) PeerFailedError \[rank (\d+), \w+, peer (\d+)/.exec(l);
          assert.ok(m, `not a PeerFailedError naming the victim: ${l}`);
          assert.equal(Number(m[5]), victim, l);
          assert.equal(m[1], m[4], l);
          times.push(Number(m[3]));
          assert.ok(Number(m[3]) <= HB_MS + 1000, `rank ${m[1]} took ${m[3]} ms: ${l}`);
        }
        assert.equal(r.code, 137, why); // the survivors end the stopped victim with SIGKILL
        assert.deepEqual(rankPids(dir).filter(alive), []);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('with --timeout: exit 110 and a per-rank dump of the blocked operation (communicator, peer, tag)', async () => {
    const dir = scratch('hang');
    try {
      const victim = 1;
      const r = await launch(['-n', String(NP), '--timeout', '6', '-x', 'DARRAY_PEER_TIMEOUT_MS=60000', program, 'stop', 'allreduce', String(victim), dir, '5']);
      const why = `code ${r.code}\nstderr:\n${r.err.slice(-3000)}`;
      assert.equal(r.code, 110, why);
      assert.match(r.err, /timeout: the job ran longer than 6 s/, why);
      // Every survivor says what it waits in: allreduce on the world communicator's collective context, a peer, a tag.
      for (let rank = 0; rank < NP; rank++) {
        if (rank === victim) continue;
        assert.match(r.err, new RegExp(`\\[${rank}\\] .*allreduce: waiting to (receive|send) on .+ (from|to) peer \\d+, tag \\d+, for \\d+ ms`), `rank ${rank} dumped nothing\n${why}`);
      }
      assert.deepEqual(rankPids(dir).filter(alive), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
