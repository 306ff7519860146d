// Runs the frame-decoder fuzzer (wire-fuzz.ts) in its own process under a watchdog, so that a hang or a crash
// of the decoder fails this test instead of stalling it: 10^6 inputs or 120 s, whichever comes first.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FUZZ = fileURLToPath(new URL('./wire-fuzz.ts', import.meta.url));
const INPUTS = Number(process.env.FUZZ_INPUTS ?? 1_000_000);
const SECONDS = Number(process.env.FUZZ_SECONDS ?? 120);
/** A decoder stuck on one input shows as no final line within this margin past the fuzzer's own deadline. */
const WATCHDOG_S = SECONDS + 60;

describe('frame decoder fuzz', function () {
  this.timeout((WATCHDOG_S + 10) * 1000);
  it(`${INPUTS} hostile inputs or ${SECONDS} s: only ProtocolError naming the peer, no hang, bounded memory`, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', FUZZ, '--inputs', String(INPUTS), '--seconds', String(SECONDS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (out += b));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, WATCHDOG_S * 1000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearTimeout(timer);
    assert.ok(!killed, `the fuzzer did not finish within ${WATCHDOG_S} s (a hang on some input?); output:\n${out.slice(-2000)}`);
    const last = out.trim().split('\n').pop() ?? '';
    assert.equal(code, 0, `fuzzer found a defect:\n${out.slice(-3000)}`);
    const r = JSON.parse(last) as { done: boolean; inputs: number; seconds: number; refused: number; accepted: number; maxArrayBuffers: number; maxMs: number; seed: number };
    console.log(`      fuzz figures: ${r.inputs} inputs (${r.refused} refused as ProtocolError, ${r.accepted} valid) in ${r.seconds} s, seed ${r.seed}, slowest ${r.maxMs} ms, peak extra ArrayBuffer memory ${(r.maxArrayBuffers / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(r.done && (r.inputs >= INPUTS || r.seconds >= SECONDS - 1), `ran ${r.inputs} inputs in ${r.seconds} s`);
    assert.ok(r.refused > r.inputs / 2, 'most hostile inputs must be refused');
    // The decoder is given a 1 MiB limit; garbage held past a handful of messages would show here.
    assert.ok(r.maxArrayBuffers < 64 * 2 ** 20, `ArrayBuffer memory grew by ${r.maxArrayBuffers} bytes`);
  });
});
