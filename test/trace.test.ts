// A traced 4-rank job through the launcher (--trace): the merged file has the documented shape, every send its
// receive, no negative duration, per-rank totals equal to the summary; darray-report renders it (SVG and PNG).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChromeEvent, MergedTrace } from '../src/trace/format.js';
import { tsxLoaderUrl } from '../scripts/launcher/program.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function run(args: string[], limitMs: number, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsxLoaderUrl(), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d; });
    child.stderr.on('data', (d: Buffer) => { out += d; });
    const guard = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(guard); resolve({ code, out }); });
  });
}

describe('trace of a 4-rank job (launcher --trace, darray-report)', function () {
  this.timeout(240_000);
  let tmp: string;
  let file: string;
  let trace: MergedTrace;
  let output: string;
  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'darray-trace-test-'));
    file = path.join(tmp, 'out.json');
    const r = await run(['scripts/mpirun.ts', '--timeout', '150', '-n', '4', '--trace', file, 'test/fixtures/trace/program.ts'], 180_000,
      { DARRAY_PROGRESS: '1', DARRAY_PROGRESS_INTERVAL_MS: '0' });
    assert.equal(r.code, 0, r.out);
    output = r.out;
    assert.match(r.out, /trace written to/);
    trace = JSON.parse(fs.readFileSync(file, 'utf8')) as MergedTrace;
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const spans = (): ChromeEvent[] => trace.traceEvents.filter((e) => e.ph === 'X');

  it('is a Chrome trace of the documented shape, one process per rank, parts removed', () => {
    assert.ok(Array.isArray(trace.traceEvents));
    const d = trace.otherData.darray;
    assert.equal(d.format, 'darray-trace');
    assert.equal(d.size, 4);
    assert.deepEqual(d.missing, []);
    assert.deepEqual(d.ranks.map((r) => r.rank), [0, 1, 2, 3]);
    assert.equal(fs.existsSync(`${file}.parts`), false);
    const names = trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.pid).sort();
    assert.deepEqual(names, [0, 1, 2, 3]);
    for (const e of trace.traceEvents) {
      assert.ok(['X', 'M', 's', 'f'].includes(e.ph), `phase ${e.ph}`);
      assert.ok(typeof e.name === 'string' && Number.isInteger(e.pid));
      if (e.ph !== 'M') assert.ok(Number.isFinite(e.ts) && Number.isInteger(e.tid), JSON.stringify(e));
    }
    for (const r of d.ranks) {
      assert.ok(r.end > r.start && r.rttUs !== null && r.rttUs > 0 || r.rank === 0, JSON.stringify(r));
      const cats = new Set(spans().filter((e) => e.pid === r.rank).map((e) => e.cat));
      for (const c of ['kernel', 'collective', 'send', 'recv', 'phase']) assert.ok(cats.has(c), `rank ${r.rank} has no ${c} span`);
    }
    const kernels = new Set(spans().filter((e) => e.cat === 'kernel').map((e) => e.name));
    // Cholesky's kernels: the diagonal step with its inverse, the panel by TRMM, the update, A's tiles copied in.
    for (const k of ['potrfInv', 'trmm', 'syrk', 'gemm', 'copy']) assert.ok(kernels.has(k), `no ${k} kernel span`);
  });

  it('prints progress from rank 0 only (forced with DARRAY_PROGRESS=1)', () => {
    assert.match(output, /^\[0\] ring: 33% after /m);
    assert.match(output, /^\[0\] ring: done in /m);
    assert.match(output, /^\[0\] cholesky 192x192: \d+% after /m);
    assert.doesNotMatch(output, /^\[[123]\] (ring|cholesky)/m);
  });

  it('has non-negative durations inside each rank\'s run, and lanes that never overlap', () => {
    const info = new Map(trace.otherData.darray.ranks.map((r) => [r.rank, r]));
    const byLane = new Map<string, ChromeEvent[]>();
    for (const e of spans()) {
      assert.ok(e.dur! >= 0, `negative duration ${JSON.stringify(e)}`);
      const r = info.get(e.pid)!;
      assert.ok(e.ts! >= r.start - 1 && e.ts! + e.dur! <= r.end + 1, `span outside rank ${e.pid}'s run: ${JSON.stringify(e)}`);
      const k = `${e.pid}/${e.tid}`;
      byLane.set(k, [...(byLane.get(k) ?? []), e]);
    }
    for (const [k, l] of byLane) {
      l.sort((a, b) => a.ts! - b.ts!);
      for (let i = 1; i < l.length; i++) assert.ok(l[i].ts! >= l[i - 1].ts! + l[i - 1].dur! - 0.002, `overlap in lane ${k}`);
    }
  });

  it('pairs every send with its receive: same bytes, a flow arrow from one to the other', () => {
    const s = trace.otherData.darray.summary;
    const sends = spans().filter((e) => e.cat === 'send');
    const recvs = spans().filter((e) => e.cat === 'recv');
    assert.ok(sends.length > 20, `only ${sends.length} sends`);
    assert.equal(s.unmatchedSends, 0);
    assert.equal(s.unmatchedRecvs, 0);
    assert.equal(sends.length, recvs.length);
    assert.equal(s.flows, sends.length);
    const recvByFlow = new Map(recvs.map((e) => [e.args!.flow, e]));
    for (const e of sends) {
      const r = recvByFlow.get(e.args!.flow);
      assert.ok(r, `send without receive: ${JSON.stringify(e)}`);
      assert.equal(r.pid, e.args!.peer);
      assert.equal(r.args!.peer, e.pid);
      assert.equal(r.args!.tag, e.args!.tag);
      assert.equal(r.args!.bytes, e.args!.bytes);
      // Clocks corrected: a message is not received before it was sent (within the offset's uncertainty).
      const rtt = Math.max(...trace.otherData.darray.ranks.map((x) => x.rttUs ?? 0));
      assert.ok(r.ts! + r.dur! >= e.ts! - rtt, `received before sent: ${JSON.stringify([e, r])}`);
    }
    const starts = trace.traceEvents.filter((e) => e.ph === 's');
    const ends = trace.traceEvents.filter((e) => e.ph === 'f');
    assert.equal(starts.length, sends.length);
    assert.deepEqual(starts.map((e) => e.id).sort(), ends.map((e) => e.id).sort());
    // The ring's 16 KiB typed arrays travel as 16384 bytes.
    assert.ok(sends.some((e) => e.args!.tag === 7 && e.args!.bytes === 16384));
  });

  it('has per-rank totals equal to the summary\'s', () => {
    const s = trace.otherData.darray.summary;
    for (const r of s.ranks) {
      const mine = spans().filter((e) => e.pid === r.rank);
      const of = (cat: string) => mine.filter((e) => e.cat === cat);
      const sum = (l: ChromeEvent[], f: (e: ChromeEvent) => number) => l.reduce((t, e) => t + f(e), 0);
      assert.equal(r.kernelCount, of('kernel').length);
      assert.ok(Math.abs(r.kernelSumUs - sum(of('kernel'), (e) => e.dur!)) < 1e-6 * r.kernelSumUs + 0.01);
      assert.equal(r.messagesSent, of('send').length);
      assert.equal(r.messagesReceived, of('recv').length);
      assert.equal(r.bytesSent, sum(of('send'), (e) => e.args!.bytes as number));
      assert.equal(r.bytesReceived, sum(of('recv'), (e) => e.args!.bytes as number));
      assert.equal(r.collectiveCount, of('collective').length);
      assert.ok(Math.abs(r.compute + r.comm + r.idle - 1) < 1e-9, JSON.stringify(r));
      // Kernels may overlap (several in flight), so busy compute time is at most their summed time.
      assert.ok(r.computeUs <= r.kernelSumUs + 0.01 && r.computeUs > 0 && r.computeUs <= r.wallUs);
    }
    const sent = s.ranks.reduce((t, r) => t + r.bytesSent, 0);
    assert.equal(sent, s.ranks.reduce((t, r) => t + r.bytesReceived, 0));
    assert.equal(s.bytesMoved, sent);
    const kernelsTotal = s.kernels.reduce((t, k) => t + k.count, 0);
    assert.equal(kernelsTotal, spans().filter((e) => e.cat === 'kernel').length);
  });

  it('darray-report writes an SVG and a PNG per rank and the summary table', async () => {
    const dir = path.join(tmp, 'report');
    const r = await run(['scripts/darray-report.ts', file, '--out', dir], 120_000);
    assert.equal(r.code, 0, r.out);
    for (const rank of [0, 1, 2, 3]) {
      const svg = fs.readFileSync(path.join(dir, `rank-${rank}.svg`), 'utf8');
      assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
      assert.match(svg, /compute/);
      const png = fs.readFileSync(path.join(dir, `rank-${rank}.png`));
      assert.ok(png.length > 1000);
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    }
    for (const f of ['job', 'summary']) {
      assert.match(fs.readFileSync(path.join(dir, `${f}.svg`), 'utf8'), /^<svg/);
      assert.equal(fs.readFileSync(path.join(dir, `${f}.png`)).subarray(1, 4).toString(), 'PNG');
    }
    const table = fs.readFileSync(path.join(dir, 'summary.md'), 'utf8');
    for (const rank of [0, 1, 2, 3]) assert.match(table, new RegExp(`^\\| ${rank} \\|`, 'm'));
    assert.match(table, /gemm/);
    assert.match(r.out, /compute/);
  });

  it('a failed job still leaves a merged trace, with a part from the failing rank and the ranks stopped after it', async () => {
    const failed = path.join(tmp, 'failed.json');
    const r = await run(['scripts/mpirun.ts', '--timeout', '150', '-n', '4', '--trace', failed, 'test/fixtures/trace/program.ts', '192', '64', '1'], 180_000);
    assert.notEqual(r.code, 0, r.out);
    assert.match(r.out, /rank 1 fails on purpose/);
    assert.match(r.out, /trace written to/);
    const t = JSON.parse(fs.readFileSync(failed, 'utf8')) as MergedTrace;
    assert.deepEqual(t.otherData.darray.ranks.map((x) => x.rank), [0, 1, 2, 3]);
    assert.ok(t.traceEvents.some((e) => e.ph === 'X' && e.pid === 1 && e.name === 'ring'));
  });
});
