// Unit tests of line tagging (scripts/launcher/output.ts): whole lines only, prefix per line, partial flush.

import assert from 'node:assert/strict';
import { LineWriter } from '../../scripts/launcher/output.js';

function collector() {
  const writes: string[] = [];
  return { writes, sink: { write: (b: Buffer | string) => { writes.push(b.toString()); } } };
}

describe('launcher line tagging', () => {
  it('prefixes each line and writes only whole lines', () => {
    const { writes, sink } = collector();
    const w = new LineWriter('[3] ', sink);
    w.push(Buffer.from('hel'));
    assert.equal(writes.length, 0, 'a partial line is held back');
    w.push(Buffer.from('lo\nwor'));
    w.push(Buffer.from('ld\nx\ny\n'));
    assert.deepEqual(writes, ['[3] hello\n', '[3] world\n[3] x\n[3] y\n']);
    for (const chunk of writes) assert.ok(chunk.endsWith('\n'), 'every write ends at a line end');
  });

  it('flushes a partial last line with a newline, and nothing when there is none', () => {
    const { writes, sink } = collector();
    const w = new LineWriter('[0] ', sink);
    w.push(Buffer.from('a\nb'));
    w.flush();
    w.flush();
    assert.deepEqual(writes, ['[0] a\n', '[0] b\n']);
  });

  it('keeps empty lines and multibyte characters split across chunks intact', () => {
    const { writes, sink } = collector();
    const w = new LineWriter('[1] ', sink);
    const bytes = Buffer.from('\nnaïve ✓\n');
    w.push(bytes.subarray(0, 5));
    w.push(bytes.subarray(5, 9));
    w.push(bytes.subarray(9));
    assert.equal(writes.join(''), '[1] \n[1] naïve ✓\n');
  });

  it('does not keep its input buffers: the stream may reuse them', () => {
    const { writes, sink } = collector();
    const w = new LineWriter('', sink);
    const buf = Buffer.from('abc');
    w.push(buf);
    buf.fill(0x7a);
    w.push(Buffer.from('\n'));
    assert.deepEqual(writes, ['abc\n']);
  });
});
