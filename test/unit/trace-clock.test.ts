// Unit tests of the clock-offset estimate (best round of the ping-pong) and of the correction between samples.
import assert from 'node:assert/strict';
import { bestOffset, measureOffset, offsetAt, type PingComm } from '../../src/trace/clock.js';

/** Two in-process endpoints of one clock; each message is delivered a millisecond later, as over a wire. */
function pair(): [PingComm, PingComm] {
  const boxes = [[], []] as unknown[][];
  const waiters: (((v: unknown) => void) | undefined)[] = [undefined, undefined];
  const mk = (rank: number): PingComm => ({
    rank,
    size: 2,
    async send(data, dest) {
      const w = waiters[dest];
      if (w) { waiters[dest] = undefined; setTimeout(() => w(data), 1); } else boxes[dest].push(data);
    },
    recv<T>() {
      if (boxes[rank].length) return Promise.resolve(boxes[rank].shift() as T);
      return new Promise<T>((r) => { waiters[rank] = r as (v: unknown) => void; });
    },
  });
  return [mk(0), mk(1)];
}

describe('trace clock offsets', () => {
  it('bestOffset takes the round with the shortest round trip', () => {
    // Local clock 100 ms ahead of root's; the second round is the fast one and says exactly that.
    const xs = [
      { t0: 1000, root: 905, t1: 1020 }, // rtt 20, estimate 1010 - 905 = 105
      { t0: 2000, root: 1901, t1: 2002 }, // rtt 2, estimate 2001 - 1901 = 100
      { t0: 3000, root: 2890, t1: 3010 }, // rtt 10, estimate 115
    ];
    assert.deepEqual(bestOffset(xs), { offset: 100, rtt: 2 });
    assert.throws(() => bestOffset([]), /no exchanges/);
  });

  it('offsetAt interpolates between samples and holds the nearest beyond them', () => {
    const s = [{ at: 100, offset: 10, rtt: 1 }, { at: 300, offset: 14, rtt: 1 }];
    assert.equal(offsetAt([], 50), 0);
    assert.equal(offsetAt(s, 0), 10);
    assert.equal(offsetAt(s, 200), 12);
    assert.equal(offsetAt(s, 250), 13);
    assert.equal(offsetAt(s, 1000), 14);
    assert.equal(offsetAt([s[1], s[0]], 200), 12); // order of samples does not matter
  });

  it('measureOffset between two endpoints of one process finds no offset beyond the round trip', async () => {
    const [a, b] = pair();
    const [ra, rb] = await Promise.all([measureOffset(a, 5), measureOffset(b, 5)]);
    assert.equal(ra.offset, 0);
    assert.ok(rb.rtt > 0 && rb.rtt < 1000, `rtt ${rb.rtt}`);
    assert.ok(Math.abs(rb.offset) <= rb.rtt / 2 + 1e-6, `offset ${rb.offset} with rtt ${rb.rtt}`);
    await assert.rejects(measureOffset(a, 0), /rounds must be a positive integer/);
  });
});
