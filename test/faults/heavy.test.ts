// Issue 6, items 3, 4 and 9 under the launcher, each bounded by --timeout: 100,000 mixed messages with
// any-source receives and zero-count collectives, one 2.5 GiB message, a 1 GiB push into a receiver that
// sleeps 10 s, and 10,000 split communicators reusing tags. Sizes can be cut with FAULTS_SMALL=1.
import assert from 'node:assert/strict';
import { launch, prog } from './harness.js';

const SMALL = process.env.FAULTS_SMALL === '1';

/** Runs a program, fails with its output unless it exits 0, and echoes its figure lines. */
async function run(np: number, timeout: number, args: string[], figures: RegExp): Promise<string> {
  const r = await launch(['-n', String(np), '--timeout', String(timeout), ...args]);
  assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.out.slice(-3000)}\nstderr:\n${r.err.slice(-3000)}`);
  for (const l of r.out.split('\n')) if (figures.test(l)) console.log(`      ${l}`);
  return r.out;
}

describe('faults: volume, backpressure and communicator churn', function () {
  this.timeout(0);

  it('100,000 messages of 0 B..8 MiB, any-source, zero-length and zero-count: 0 mismatches', async () => {
    const out = await run(4, 400, [prog('volume.ts'), String(SMALL ? 4000 : 100_000)], /volume/);
    assert.match(out, /volume total: \d+ messages checked, 0 mismatches/);
  });

  it('one 2.5 GiB message arrives intact', async () => {
    const out = await run(2, 240, [prog('big.ts'), SMALL ? '0.25' : '2.5'], /big:/);
    assert.match(out, /received \d+ bytes as Uint32Array after \d+ ms, 0 mismatches/);
  });

  it('a 1 GiB push into a receiver paused 10 s: sends wait, memory bounded, nothing lost', async () => {
    const out = await run(2, 180, [prog('backpressure.ts'), SMALL ? '384' : '1024', SMALL ? '3' : '10'], /backpressure:/);
    assert.match(out, /receiver got \d+ messages in order after its \d+ s pause, 0 bad/);
  });

  it('10,000 split communicators reusing tags: no cross-talk, flat memory', async () => {
    const out = await run(4, 400, ['-x', 'NODE_OPTIONS=--expose-gc', prog('split-many.ts'), SMALL ? '1000' : '10000'], /split-many:/);
    assert.equal(out.match(/, 0 cross-talk, /g)?.length, 4);
  });
});
