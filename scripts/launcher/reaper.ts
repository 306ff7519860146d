// Starts the watchdog (reaper.mjs) that cleans up after a launcher killed without warning; the launcher
// tells it each rank's process group and says "done" when it cleaned up itself.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const REAPER = fileURLToPath(new URL('./reaper.mjs', import.meta.url));

export class Reaper {
  private child: ChildProcess;

  constructor(rundir: string) {
    // Own process group and no link to our stdout: it must survive us and never hold our pipes open.
    this.child = spawn(process.execPath, [REAPER, rundir], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    this.child.on('error', (err) => process.stderr.write(`darray-run: watchdog did not start: ${err.message}\n`));
    this.child.stdin!.on('error', () => { /* the watchdog is gone; we clean up ourselves anyway */ });
    // Neither the process nor its pipe may keep the launcher's event loop alive.
    this.child.unref();
    (this.child.stdin as unknown as Socket).unref?.();
  }

  watch(pgid: number): void {
    this.child.stdin!.write(`pgid ${pgid}\n`);
  }

  /** The launcher cleaned up: the watchdog exits without touching anything. */
  done(): void {
    this.child.stdin!.end('done\n');
  }
}
