// The job's private run directory (0700, under os.tmpdir()): ipc sockets and spill files live there.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Unix socket paths are limited to 107 bytes; leave room for the sockets the communicator makes. */
const MAX_DIR_LEN = 80;

export function makeRunDir(tmp = os.tmpdir()): string {
  const base = path.join(tmp, 'darray-').length + 6 > MAX_DIR_LEN ? '/tmp' : tmp;
  const dir = fs.mkdtempSync(path.join(base, 'darray-'));
  fs.chmodSync(dir, 0o700);
  // Marks the directory as the launcher's own, so a remote guard on this same machine leaves it alone.
  fs.writeFileSync(path.join(dir, '.launcher'), `${process.pid}\n`, { mode: 0o600 });
  return dir;
}

export function removeRunDir(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    process.stderr.write(`darray-run: could not remove ${dir}: ${(err as Error).message}\n`);
  }
}
