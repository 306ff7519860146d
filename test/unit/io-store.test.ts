// Unit tests of the tile store: LRU spilling under the memory limit and restoring the exact contents, tiles
// held by a caller never spilling (no lost writes), SpillError on a full device (/dev/full) with the tile
// intact, the private spill directory (0700, under DARRAY_RUNDIR, removed at exit), limits and cleanup.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { fileURLToPath } from 'node:url';
import { memoryStats, parseBytes, setMemoryLimit, SpillError, TileMap } from '../../src/darray/store/index.js';
import { spillFs } from '../../src/darray/store/spill-files.js';
import { tsxLoaderUrl } from '../../scripts/launcher/program.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const N = 1000;                    // elements per tile
const TILE = N * 8;                // bytes per float64 tile

/** Collects garbage and lets finalization callbacks (and the shrink they queue) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 5));
  }
}

function makeTiles(count: number): TileMap {
  const m = new TileMap(0);
  for (let k = 0; k < count; k++) m.addLazy(String(k), 'float64', N);
  return m;
}

const pattern = (k: number, i: number) => k * 1e6 + i * 0.5;

describe('io: tile store', function () {
  this.timeout(60000);
  // Arrays of earlier tests leave the store only when collected: start each test from a settled store.
  beforeEach(settle);
  afterEach(() => setMemoryLimit(null));

  it('parses byte sizes and rejects junk', () => {
    assert.equal(parseBytes('512M', 'x'), 512 * 2 ** 20);
    assert.equal(parseBytes('8G', 'x'), 8 * 2 ** 30);
    assert.equal(parseBytes('1.5k', 'x'), 1536);
    assert.equal(parseBytes('123', 'x'), 123);
    assert.throws(() => parseBytes('lots', 'DARRAY_MEMORY_LIMIT'), /DARRAY_MEMORY_LIMIT: expected bytes/);
    assert.throws(() => setMemoryLimit(-1), /setMemoryLimit.*non-negative/);
  });

  it('spills the least recently used tiles past the limit and restores them exactly', () => {
    const before = memoryStats();
    setMemoryLimit(3 * TILE);
    const m = makeTiles(8);
    for (let k = 0; k < 8; k++) m.borrow(String(k), (t) => { for (let i = 0; i < N; i++) t[i] = pattern(k, i); });
    let s = memoryStats();
    assert.ok(s.residentBytes - before.residentBytes <= 3 * TILE, `resident ${s.residentBytes}`);
    assert.equal(s.spills - before.spills, 5);
    // Least recently used went first: tiles 0..4 are on disk, 5..7 in memory.
    assert.deepEqual([...m.keys()].map((k) => m.entry(k)!.state), ['spilled', 'spilled', 'spilled', 'spilled', 'spilled', 'memory', 'memory', 'memory']);
    for (let k = 0; k < 8; k++) {
      m.borrow(String(k), (t) => { for (let i = 0; i < N; i++) assert.equal(t[i], pattern(k, i)); });
    }
    s = memoryStats();
    assert.equal(s.restores - before.restores, 8);
    assert.ok(s.residentBytes - before.residentBytes <= 3 * TILE);
    m.clear();
    assert.equal(memoryStats().spilledBytes, before.spilledBytes);
  });

  it('never spills a tile a caller still holds, and keeps writes made through it', async () => {
    setMemoryLimit(2 * TILE);
    const m = makeTiles(6);
    let held: Float64Array | undefined = m.get('0') as Float64Array;
    assert.equal(m.get('0'), held, 'the same array while it is held');
    for (let k = 1; k < 6; k++) m.borrow(String(k), (t) => t.fill(k));
    await settle();
    m.borrow('5', () => undefined);
    assert.equal(m.entry('0')!.state, 'memory');
    held.fill(42);                 // a write long after the tile was handed out
    held = undefined;
    await settle();
    for (let k = 1; k < 6; k++) m.borrow(String(k), () => undefined);
    assert.equal(m.entry('0')!.state, 'spilled', 'released tile spills');
    m.borrow('0', (t) => assert.ok(t.every((x) => x === 42), 'the late write survived the spill'));
  });

  it('a pinned tile stays in memory until released, then spills without waiting for a collection', async () => {
    setMemoryLimit(TILE);          // the pinned tile and the one in use: over the limit until release
    const m = makeTiles(4);
    const pin = m.pin('0')!;
    pin.data.fill(9);
    for (let k = 1; k < 4; k++) m.borrow(String(k), (t) => t.fill(k));
    assert.equal(m.entry('0')!.state, 'memory', 'pinned');
    pin.release();
    pin.release();                 // a second release changes nothing
    await new Promise((r) => setImmediate(r));
    assert.equal(m.entry('0')!.state, 'spilled', 'spilled right after release');
    m.borrow('0', (t) => assert.ok(t.every((x) => x === 9)));
  });

  it('a pin for overwriting gives a new tile memory of its own without zeroing it, and still restores a spilled one', () => {
    const m = makeTiles(2);
    const fresh = m.pin('0', true)!;
    assert.ok(fresh.data instanceof Float64Array && fresh.data.length === N);
    assert.equal(fresh.data.byteOffset, 0);
    assert.equal(fresh.data.buffer.byteLength, TILE, 'not a slice of a shared pool');
    fresh.data.fill(3);
    fresh.release();
    m.borrow('0', (t) => assert.ok(t.every((x) => x === 3)));
    setMemoryLimit(TILE);
    m.borrow('1', (t) => t.fill(5));
    m.borrow('0', () => undefined);  // tile 1 spills to make room
    assert.equal(m.entry('1')!.state, 'spilled');
    const back = m.pin('1', true)!;
    assert.ok(back.data.every((x) => x === 5), 'a spilled tile comes back with its contents');
    back.release();
  });

  it('lowering the limit spills at once; lifting it lets tiles stay', () => {
    const m = makeTiles(4);
    for (let k = 0; k < 4; k++) m.borrow(String(k), (t) => t.fill(k + 1));
    const r0 = memoryStats().residentBytes;
    setMemoryLimit(r0 - 2 * TILE);
    assert.ok(memoryStats().residentBytes <= r0 - 2 * TILE);
    setMemoryLimit(null);
    for (let k = 0; k < 4; k++) m.borrow(String(k), (t) => assert.ok(t.every((x) => x === k + 1)));
    assert.equal(memoryStats().residentBytes, r0);
  });

  it('a full disk raises SpillError and leaves the tile in memory, unchanged', () => {
    const m = makeTiles(3);
    for (let k = 0; k < 3; k++) m.borrow(String(k), (t) => t.fill(k + 7));
    const open = spillFs.openSync;
    // /dev/full accepts the open and fails every write with ENOSPC, like a full disk.
    spillFs.openSync = () => fs.openSync('/dev/full', 'w');
    try {
      assert.throws(() => setMemoryLimitStrict(TILE), (e: unknown) => {
        assert.ok(e instanceof SpillError, String(e));
        assert.match((e as Error).message, /\[rank 0, spill\] cannot spill a tile of 8000 bytes .*the disk is full \(ENOSPC\)/);
        return true;
      });
    } finally {
      spillFs.openSync = open;
    }
    setMemoryLimit(null);
    for (let k = 0; k < 3; k++) {
      assert.equal(m.entry(String(k))!.state, 'memory');
      m.borrow(String(k), (t) => assert.ok(t.every((x) => x === k + 7)));
    }
    // No partial file was left: every spill file holds a whole tile, and they add up to the spilled bytes.
    const dir = path.dirname(spillDirProbe());
    const sizes = fs.readdirSync(dir).map((f) => fs.statSync(path.join(dir, f)).size);
    assert.ok(sizes.every((n) => n === TILE), `spill file sizes ${sizes}`);
    assert.equal(sizes.length * TILE, memoryStats().spilledBytes);
  });

  it('drops the tiles of an unreachable array, spill files included', async () => {
    const before = memoryStats();
    setMemoryLimit(TILE);
    let m: TileMap | undefined = makeTiles(5);
    for (let k = 0; k < 5; k++) m.borrow(String(k), (t) => t.fill(k));
    assert.ok(memoryStats().spilledBytes > before.spilledBytes);
    m = undefined;
    await settle();
    assert.equal(memoryStats().spilledBytes, before.spilledBytes);
    assert.equal(memoryStats().residentBytes, before.residentBytes);
  });

  it('takes DARRAY_MEMORY_LIMIT; spills into a private 0700 directory under DARRAY_RUNDIR, removed at exit', () => {
    const run = fs.mkdtempSync(path.join(os.tmpdir(), 'darray-rundir-'));
    try {
      const code = `
        import fs from 'node:fs';
        import { TileMap, memoryStats } from ${JSON.stringify(path.join(root, 'src/darray/store/index.ts'))};
        const m = new TileMap(3);
        for (let k = 0; k < 3; k++) { m.addLazy(String(k), 'float64', ${N}); m.borrow(String(k), (t) => t.fill(1)); }
        const dirs = fs.readdirSync(${JSON.stringify(run)});
        const st = fs.statSync(${JSON.stringify(run)} + '/' + dirs[0]);
        console.log(JSON.stringify({ dirs, mode: st.mode & 0o777, files: fs.readdirSync(${JSON.stringify(run)} + '/' + dirs[0]).length, limit: memoryStats().limit }));`;
      const r = spawnSync(process.execPath, ['--import', tsxLoaderUrl(), '--input-type=module', '-e', code],
        { env: { ...process.env, DARRAY_RUNDIR: run, DARRAY_MEMORY_LIMIT: '7.8125K' }, encoding: 'utf8', timeout: 60000 });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { dirs: string[]; mode: number; files: number; limit: number };
      assert.equal(out.limit, TILE, 'DARRAY_MEMORY_LIMIT=7.8125K is one 8000-byte tile');
      assert.equal(out.dirs.length, 1);
      assert.match(out.dirs[0], /^darray-spill-r3-/);
      assert.equal(out.mode, 0o700);
      assert.equal(out.files, 2);
      assert.deepEqual(fs.readdirSync(run), [], 'spill directory removed at exit');
    } finally {
      fs.rmSync(run, { recursive: true, force: true });
    }
  });
});

/** setMemoryLimit swallows spill failures (it cannot hand them to a caller); a tile use then raises them. */
function setMemoryLimitStrict(bytes: number): void {
  setMemoryLimit(bytes);
  const m = new TileMap(0);
  m.addLazy('x', 'float64', N);
  m.borrow('x', () => undefined);
}

/** A path inside this process's spill directory. */
function spillDirProbe(): string {
  const m = new TileMap(0);
  m.addLazy('p', 'float64', N);
  m.borrow('p', (t) => t.fill(0));
  setMemoryLimit(0);
  const f = m.entry('p')!.spill!;
  setMemoryLimit(null);
  m.clear();
  return f;
}
