// Unit tests of bench-plot: JSON lines picked out of mixed output, ours and the references as series, axes
// chosen from the records, a clear error without them, and a chart that renders.
import assert from 'node:assert/strict';
import { parseLines, plotRows, plotSpec } from '../../scripts/bench-plot.js';
import { toSvg } from '../../src/trace/render.js';

const text = [
  'bench: building the ScaLAPACK reference',
  '{"bench":"linalg","op":"cholesky","n":2048,"ranks":2,"gflops":40,"single_process_gflops":90,"scalapack_gflops":60}',
  '{"bench":"linalg","op":"cholesky","n":2048,"ranks":4,"gflops":55,"single_process_gflops":90,"scalapack_gflops":70}',
  '[0] BENCH {"bench":"linalg","op":"cholesky","n":4096,"ranks":2,"gflops":50,"single_process_gflops":92,"scalapack_gflops":null}',
  '{"bench":"linalg","op":"gemm","n":2048,"ranks":2,"gflops":80}',
  '{not json',
].join('\n');

describe('bench-plot', () => {
  it('reads result lines among other output and makes a series per rank count and per reference', () => {
    const recs = parseLines(text);
    assert.equal(recs.length, 4);
    const { rows, x, y } = plotRows(recs);
    assert.deepEqual([x, y], ['n', 'gflops']);
    const chol = rows.filter((r) => r.group === 'linalg cholesky').map((r) => `${r.series}@${r.x}=${r.y}`).sort();
    assert.deepEqual(chol, [
      'darray, 2 ranks@2048=40', 'darray, 2 ranks@4096=50', 'darray, 4 ranks@2048=55',
      'scalapack@2048=60', 'single process@2048=90', 'single process@4096=92',
    ]);
    assert.deepEqual(rows.filter((r) => r.group === 'linalg gemm').map((r) => r.series), ['darray, 2 ranks']);
  });

  it('takes the axes it is given, and says what is missing', () => {
    const { rows, y } = plotRows(parseLines('{"n":1,"seconds":2,"gflops":3}'), { y: 'seconds' });
    assert.equal(y, 'seconds');
    assert.deepEqual(rows.map((r) => r.y), [2]);
    assert.throws(() => plotRows([{ op: 'x' }]), /no size field/);
    assert.throws(() => plotRows([{ n: 3 }]), /no metric/);
    assert.throws(() => plotRows([{ n: 3, gflops: 1 }], { y: 'us' }), /no record has both n and us/);
  });

  it('renders a panel per operation', async () => {
    const { rows, x, y } = plotRows(parseLines(text));
    const svg = await toSvg(plotSpec(rows, x, y));
    assert.match(svg, /^<svg/);
    for (const s of ['linalg cholesky', 'linalg gemm', 'scalapack', 'GF/s']) assert.ok(svg.includes(s), `no "${s}" in the chart`);
  });
});
