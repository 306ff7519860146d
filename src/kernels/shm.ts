// TypeScript face of the addon's shared-memory primitives: segments that other processes of this user map
// through /proc/<pid>/fd/<fd>. Mechanism only; src/comm decides who shares what and when.
import { BackendError } from '../errors.js';
import { addon_ } from './index.js';

/** A segment this process made: its descriptor (open until `shmClose`) and its whole mapping. */
export interface Segment {
  fd: number;
  buffer: ArrayBuffer;
}

function checkBytes(bytes: number, op: string): void {
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new BackendError(`byte count ${bytes} must be a positive integer`, { op });
}

function call<T>(op: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new BackendError((e as Error).message, { op }, { cause: e });
  }
}

/** A new zero-filled, pre-faulted segment of `bytes`; throws BackendError when the system refuses. */
export function shmCreate(bytes: number): Segment {
  checkBytes(bytes, 'shmCreate');
  return call('shmCreate', () => addon_().shmCreate(bytes) as unknown as Segment);
}

/** Maps the first `bytes` of a file another process shares, pre-faulted; unmapped when the buffer is collected. */
export function shmOpen(path: string, bytes: number): ArrayBuffer {
  checkBytes(bytes, 'shmOpen');
  return call('shmOpen', () => addon_().shmOpen(path, bytes) as unknown as ArrayBuffer);
}

/** Closes a descriptor from `shmCreate` (the memory stays while any process maps it). */
export function shmClose(fd: number): void {
  if (!Number.isInteger(fd) || fd < 0) throw new BackendError(`bad descriptor ${fd}`, { op: 'shmClose' });
  call('shmClose', () => addon_().shmClose(fd));
}

/** The path through which another process of this user opens descriptor `fd` of process `pid`. */
export function shmPath(pid: number, fd: number): string {
  return `/proc/${pid}/fd/${fd}`;
}

/** Faults in the pages of a fresh array before it is filled, in one system call rather than one trap per page. */
export function prefault(a: ArrayBufferView): void {
  call('prefault', () => addon_().prefault(a as Float64Array));
}

/**
 * Drops this process's mapping of the whole pages inside `a`, a view of a shared segment it has read: the
 * segment keeps its contents (a later read maps them again), and this process's resident size stops counting
 * memory that its owner already counts.
 */
export function unmapPages(a: ArrayBufferView): void {
  call('unmapPages', () => addon_().discard(a as Float64Array));
}

/**
 * A buffer of `bytes` for a result the caller overwrites whole: its contents are unspecified (this process's
 * stale data, or zeros) and its pages are faulted in. Once it is collected its memory serves the next call of
 * the same length, up to `keepBytes` kept in all: a fresh 64 MiB array costs more in zero-fill and page faults
 * than filling it. Node clones rather than transfers such a buffer in postMessage.
 */
export function allocReusable(bytes: number, keepBytes: number): ArrayBuffer {
  checkBytes(bytes, 'allocReusable');
  return call('allocReusable', () => addon_().allocReusable(bytes, keepBytes) as unknown as ArrayBuffer);
}

/** The address of `a`'s first byte in this process, for a peer's `peerRead`. */
export function addressOf(a: ArrayBufferView): number {
  return call('addressOf', () => addon_().addressOf(a as Float64Array) as unknown as number);
}

/**
 * Copies `into.byteLength` bytes at `address` in process `pid` (of this user, on this host) into `into`, in one
 * copy (Linux cross-memory attach). Throws BackendError when the process is gone, may not be read, or does not map
 * the whole range. The owner must keep those bytes alive and unchanged until the reader is done.
 */
export function peerRead(pid: number, address: number, into: ArrayBufferView): void {
  call('peerRead', () => addon_().peerRead(pid, address, into as Float64Array));
}
