// Spill files of one rank: a private 0700 directory (under DARRAY_RUNDIR when the launcher set it, so its
// cleanup removes it even after a crash; else under the system temp dir, removed at exit) holding one file
// per spilled tile. Writes that fail (disk full, quota) raise SpillError and leave no partial file behind.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SpillError } from '../../errors.js';
import type { TypedArray } from '../dtype.js';

export { SpillError };

/** The file operations spilling uses; tests swap `openSync` to reach a full device. */
export const spillFs = {
  openSync: (p: string, flags: string, mode: number): number => fs.openSync(p, flags, mode),
};

export class SpillFiles {
  private dir: string | undefined;
  private next = 0;
  /** Bytes currently in spill files. */
  bytes = 0;

  constructor(private readonly rank: () => number) {}

  /** The spill directory, made on first use. */
  directory(): string {
    if (this.dir) return this.dir;
    const base = process.env.DARRAY_SPILL_DIR || process.env.DARRAY_RUNDIR || os.tmpdir();
    try {
      fs.mkdirSync(base, { recursive: true, mode: 0o700 });
      // mkdtemp makes the directory 0700: spilled tiles are as private as the process memory they came from.
      this.dir = fs.mkdtempSync(path.join(base, `darray-spill-r${this.rank()}-`));
      fs.chmodSync(this.dir, 0o700);
    } catch (e) {
      throw this.error(`cannot make a spill directory under ${base}`, e);
    }
    const dir = this.dir;
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  /** Writes `data` to a new spill file and returns its path; SpillError (no file left) if that fails. */
  write(data: TypedArray): string {
    const file = path.join(this.directory(), `t${this.next++}.bin`);
    let fd: number | undefined;
    try {
      fd = spillFs.openSync(file, 'w', 0o600);
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      let done = 0;
      while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done);
      fs.closeSync(fd);
      fd = undefined;
    } catch (e) {
      if (fd !== undefined) try { fs.closeSync(fd); } catch { /* already failing */ }
      fs.rmSync(file, { force: true });
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full' : 'the write failed';
      throw this.error(`cannot spill a tile of ${data.byteLength} bytes to ${this.dir}: ${why} (${code ?? e}); ` +
        'raise the memory limit or point DARRAY_SPILL_DIR at a larger disk', e);
    }
    this.bytes += data.byteLength;
    return file;
  }

  /** Reads a spill file back into `into` (exactly its byte length). */
  read(file: string, into: TypedArray): void {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.from(into.buffer, into.byteOffset, into.byteLength);
      let done = 0;
      while (done < buf.length) {
        const n = fs.readSync(fd, buf, done, buf.length - done, done);
        if (n === 0) throw this.error(`spill file ${file} is shorter than its tile (${done} of ${buf.length} bytes)`);
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Deletes a spill file that is no longer needed. */
  remove(file: string, bytes: number): void {
    fs.rmSync(file, { force: true });
    this.bytes -= bytes;
  }

  private error(msg: string, cause?: unknown): SpillError {
    return new SpillError(msg, { rank: this.rank(), op: 'spill' }, { cause });
  }
}
