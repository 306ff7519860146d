// Human wording of how a process ended, and the exit code the launcher passes on for it.

import os from 'node:os';

export interface Ending { code: number | null; signal: NodeJS.Signals | null; error?: string }

export function signalNumber(signal: NodeJS.Signals): number {
  return os.constants.signals[signal] ?? 0;
}

/** The exit status a shell would report: the code, or 128+signal number when killed. */
export function exitStatus(e: Ending): number {
  if (e.error !== undefined) return 127;
  if (e.signal) return 128 + signalNumber(e.signal);
  return e.code ?? 1;
}

function signalName(num: number): string | undefined {
  return Object.entries(os.constants.signals).find(([, n]) => n === num)?.[0];
}

/** "exited with code 3", "was killed by SIGKILL", "could not be started: ...". */
export function describeEnding(e: Ending): string {
  if (e.error !== undefined) return `could not be started: ${e.error}`;
  if (e.signal) return `was killed by ${e.signal}`;
  const code = e.code ?? 1;
  // Through a launch agent a killed process shows up as 128+signal.
  const name = code > 128 ? signalName(code - 128) : undefined;
  return name ? `exited with code ${code} (128+${name})` : `exited with code ${code}`;
}
