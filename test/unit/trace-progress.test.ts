// Unit tests of progress lines: only rank 0 writes, only on a terminal or when DARRAY_PROGRESS=1, lines through
// a pipe and an in-place line on a terminal, nothing for a short operation, a trace phase either way.
import assert from 'node:assert/strict';
import { progress, progressEnabled } from '../../src/progress.js';
import { Recorder, setRecorderForTest } from '../../src/trace/recorder.js';

function sink(isTTY: boolean) {
  const lines: string[] = [];
  return { out: { isTTY, write: (s: string) => lines.push(s) }, lines };
}

describe('progress lines', () => {
  it('are written by rank 0 only, on a terminal or when forced', () => {
    assert.equal(progressEnabled(0, { isTTY: true }, {}), true);
    assert.equal(progressEnabled(0, { isTTY: false }, {}), false);
    assert.equal(progressEnabled(0, { isTTY: false }, { DARRAY_PROGRESS: '1' }), true);
    assert.equal(progressEnabled(0, { isTTY: true }, { DARRAY_PROGRESS: '0' }), false);
    assert.equal(progressEnabled(1, { isTTY: true }, { DARRAY_PROGRESS: '1' }), false);
  });

  it('through a pipe: a line per update with percent and time left, then a last line', () => {
    const { out, lines } = sink(false);
    const p = progress({ rank: 0 }, 'cholesky', 4, { out, intervalMs: 0, env: { DARRAY_PROGRESS: '1' } });
    p.add();
    p.add(2);
    p.add();
    p.done();
    p.done();
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^cholesky: 25% after \d+\.\d s, about \d+\.\d s left\n$/);
    assert.match(lines[1], /^cholesky: 75% /);
    assert.match(lines[2], /^cholesky: done in \d+\.\d s\n$/);
  });

  it('on a terminal: one line rewritten in place; nothing at all for an operation shorter than the interval', () => {
    const tty = sink(true);
    const p = progress({ rank: 0 }, 'save', 2, { out: tty.out, intervalMs: 0, env: {} });
    p.add();
    p.add();
    p.done();
    assert.deepEqual(tty.lines.map((l) => l.startsWith('\r\x1b[2K')), [true, true]);
    assert.ok(tty.lines[1].endsWith('\n') && !tty.lines[0].endsWith('\n'));
    const quiet = sink(true);
    const q = progress({ rank: 0 }, 'quick', 2, { out: quiet.out, intervalMs: 60_000, env: {} });
    q.add();
    q.done();
    assert.deepEqual(quiet.lines, []);
    const other = sink(true);
    const o = progress({ rank: 2 }, 'x', 1, { out: other.out, intervalMs: 0, env: { DARRAY_PROGRESS: '1' } });
    o.add();
    o.done();
    assert.deepEqual(other.lines, []);
    assert.throws(() => progress({ rank: 0 }, 'bad', 0), /total must be a positive number/);
  });

  it('records the operation as a trace phase on every rank', () => {
    const r = new Recorder('/nonexistent');
    const saved = setRecorderForTest(r);
    try {
      progress({ rank: 3 }, 'cholesky 64x64', 5, { env: {} }).done();
    } finally {
      setRecorderForTest(saved);
    }
    assert.deepEqual(r.events.map((e) => [e.c, e.n, e.a]), [['phase', 'cholesky 64x64', { total: 5 }]]);
  });
});
