// Unit tests of the pipeline schedules (simulated stage by stage with their real dependencies: they finish, run
// every pass once, keep 1F1B's activation bound, take no more time slots than GPipe) and of micro-batch cutting.
import assert from 'node:assert/strict';
import { pipelineSchedule, splitMicrobatches, type ScheduleKind } from '../../src/ml/index.js';

/**
 * Runs all stages' op lists in unit time slots: F(s, m) needs F(s-1, m) done in an earlier slot, B(s, m) needs
 * F(s, m) and B(s+1, m). Returns the slot count and each stage's peak of micro-batches forwarded but not yet
 * backwarded (the activations it holds); throws if no stage can move (a deadlock).
 */
function simulate(kind: ScheduleKind, S: number, M: number): { slots: number; peak: number[] } {
  const lists = Array.from({ length: S }, (_, s) => pipelineSchedule(kind, S, s, M));
  const pos = new Array(S).fill(0);
  const fDone = Array.from({ length: S }, () => new Array(M).fill(false));
  const bDone = Array.from({ length: S }, () => new Array(M).fill(false));
  const held = new Array(S).fill(0), peak = new Array(S).fill(0);
  let slots = 0;
  while (pos.some((p, s) => p < lists[s].length)) {
    const doing: [number, 'F' | 'B', number][] = [];
    for (let s = 0; s < S; s++) {
      const next = lists[s][pos[s]];
      if (!next) continue;
      const ready = next.op === 'F' ? s === 0 || fDone[s - 1][next.mb] : fDone[s][next.mb] && (s === S - 1 || bDone[s + 1][next.mb]);
      if (ready) doing.push([s, next.op, next.mb]);
    }
    if (!doing.length) throw new Error(`deadlock in ${kind} S=${S} M=${M} at ${pos.join(',')}`);
    for (const [s, op, mb] of doing) {
      pos[s]++;
      if (op === 'F') { fDone[s][mb] = true; peak[s] = Math.max(peak[s], ++held[s]); } else { bDone[s][mb] = true; held[s]--; }
    }
    slots++;
  }
  return { slots, peak };
}

describe('ml: pipeline schedules', () => {
  it('run every forward and backward once per stage, backwards in micro-batch order', () => {
    for (const kind of ['gpipe', '1f1b'] as const) {
      for (let S = 1; S <= 5; S++) for (let M = 1; M <= 9; M++) for (let s = 0; s < S; s++) {
        const ops = pipelineSchedule(kind, S, s, M);
        assert.equal(ops.length, 2 * M);
        assert.deepEqual(ops.filter((o) => o.op === 'F').map((o) => o.mb), [...Array(M).keys()]);
        assert.deepEqual(ops.filter((o) => o.op === 'B').map((o) => o.mb), [...Array(M).keys()]);
        // A micro-batch's backward comes after its forward on the same stage.
        ops.forEach((o, i) => { if (o.op === 'B') assert.ok(ops.findIndex((p) => p.op === 'F' && p.mb === o.mb) < i); });
      }
    }
  });

  it('complete without deadlock; 1F1B holds at most S - s activations and takes no more slots than GPipe', () => {
    for (let S = 1; S <= 5; S++) for (let M = 1; M <= 9; M++) {
      const g = simulate('gpipe', S, M);
      const f = simulate('1f1b', S, M);
      assert.ok(g.peak.every((p) => p === M));
      f.peak.forEach((p, s) => assert.ok(p <= Math.min(S - s, M), `S=${S} M=${M} stage ${s} holds ${p}`));
      assert.ok(f.slots <= g.slots, `1f1b ${f.slots} slots, gpipe ${g.slots}`);
      assert.equal(g.slots, 2 * (M + S - 1));
    }
  });

  it('matches the textbook 1F1B order for 4 stages and 6 micro-batches', () => {
    const str = (s: number) => pipelineSchedule('1f1b', 4, s, 6).map((o) => o.op + o.mb).join(' ');
    assert.equal(str(0), 'F0 F1 F2 F3 B0 F4 B1 F5 B2 B3 B4 B5');
    assert.equal(str(3), 'F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5');
  });

  it('rejects bad arguments', () => {
    assert.throws(() => pipelineSchedule('zigzag' as ScheduleKind, 2, 0, 2), /unknown schedule 'zigzag'/);
    assert.throws(() => pipelineSchedule('gpipe', 2, 2, 2), /stage 2 not in 0..1/);
    assert.throws(() => pipelineSchedule('1f1b', 2, 0, 0), /microbatches must be a positive integer/);
  });

  it('splitMicrobatches cuts rows into equal views and refuses uneven cuts', () => {
    const data = Float32Array.from({ length: 12 * 3 }, (_, i) => i);
    const parts = splitMicrobatches(data, 3, 4);
    assert.equal(parts.length, 4);
    parts.forEach((p, i) => { assert.equal(p.buffer, data.buffer); assert.deepEqual([...p], [...data.subarray(i * 9, i * 9 + 9)]); });
    assert.throws(() => splitMicrobatches(data, 3, 5), /12 rows do not split into 5 equal micro-batches/);
    assert.throws(() => splitMicrobatches(data, 5, 2), /width must be a positive integer dividing the data length 36/);
  });
});
