// Crash-safe replacement of a directory store. A save writes a fresh sibling directory (every file: temp
// name, fsync, rename), then swaps it in with two renames; `recover` finishes or undoes a swap that a crash
// interrupted, so the path always names a complete old or a complete new store, never a mix.

import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Sibling that holds the previous store during the swap. */
export function oldPath(p: string): string {
  return `${p}.darray-old`;
}

/** A new, unique sibling directory name for a save in progress. */
export function newPath(p: string): string {
  return `${p}.darray-new-${randomBytes(6).toString('hex')}`;
}

/** Writes `data` to `file` atomically: temp file in the same directory, fsync, rename. */
export function writeFileAtomic(file: string, data: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, 'w', 0o644);
  try {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, file);
}

/** writeFileAtomic on the libuv thread pool, so that several chunk writes and their fsyncs overlap. */
export async function writeFileAtomicAsync(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  const fh = await fs.promises.open(tmp, 'w', 0o644);
  try {
    let done = 0;
    while (done < data.length) done += (await fh.write(data, done, data.length - done)).bytesWritten;
    await fh.sync();
  } catch (e) {
    await fh.close();
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await fs.promises.rename(tmp, file);
}

/** fsync of a directory, so the renames inside it survive a power cut. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

/**
 * Repairs what an interrupted save left next to `p`: if the swap stopped between its two renames the old
 * store is put back; a leftover old store beside a complete new one is removed, and so are unfinished new
 * directories. Run by one rank before others look at `p`.
 */
export function recover(p: string): void {
  const old = oldPath(p);
  if (fs.existsSync(old)) {
    if (!fs.existsSync(p)) fs.renameSync(old, p);
    else fs.rmSync(old, { recursive: true, force: true });
  }
  const dir = path.dirname(p);
  const prefix = `${path.basename(p)}.darray-new-`;
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    if (f.startsWith(prefix)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
  }
}

/** Puts the finished directory `fresh` in place of `p` (which may not exist yet). */
export function swapIn(fresh: string, p: string): void {
  fsyncDir(fresh);
  const old = oldPath(p);
  const had = fs.existsSync(p);
  if (had) fs.renameSync(p, old);
  fs.renameSync(fresh, p);
  fsyncDir(path.dirname(p));
  if (had) fs.rmSync(old, { recursive: true, force: true });
}
