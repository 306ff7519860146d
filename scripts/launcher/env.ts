// The environment each rank starts with: the launcher -> rank seam of docs/internal-interfaces.md.

import os from 'node:os';
import type { JobKeys } from '../../src/comm/security.js';
import { isLocalHost, type Placement } from './hosts.js';

export interface JobEnv {
  jobId: string;
  size: number;
  root: string;                  // ipc:///.../root.sock or tcp://host:port
  rundir: string;
  transport: 'ipc' | 'tcp';
  traceDir?: string;
  /** tcp jobs: each rank's CURVE keys, handed over privately (a 0600 file here, the remote guard's stdin there). */
  keys?: JobKeys[];
  /** -x exports, values already resolved. */
  exports: Record<string, string>;
  /** --bind-to, when given: it wins over DARRAY_BIND from -x or the environment. */
  bind?: 'core' | 'none';
}

/** Variables owned by the launcher: never inherited from the launcher's own environment. */
const OWNED = ['DARRAY_RANK', 'DARRAY_SIZE', 'DARRAY_JOB_ID', 'DARRAY_ROOT', 'DARRAY_RUNDIR',
  'DARRAY_LOCAL_RANK', 'DARRAY_LOCAL_SIZE', 'DARRAY_TRANSPORT', 'DARRAY_HOST', 'DARRAY_TRACE_DIR', 'DARRAY_KEYFILE'];

/** Resolves `-x VAR` (no value) from the launcher's environment; a missing variable is an error. */
export function resolveExports(list: { name: string; value?: string }[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { name, value } of list) {
    const v = value ?? env[name];
    if (v === undefined) throw new Error(`-x ${name}: ${name} is not set in the launcher's environment; use -x ${name}=value`);
    out[name] = v;
  }
  return out;
}

/**
 * The address other hosts reach `host` at. A local alias (localhost) in a job that spans other hosts is
 * replaced by this machine's host name, since "localhost" would point each remote rank at itself.
 */
export function hostAddress(host: string, multiHost: boolean): string {
  if (!isLocalHost(host)) return host;
  return multiHost ? os.hostname() : '127.0.0.1';
}

/** `tcp://host:port`, with IPv6 addresses in brackets. */
export function tcpUrl(host: string, port: number): string {
  return `tcp://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** BLAS threads per rank so that ranks x threads stays within the host's cores (at least one). */
export function blasThreads(p: Placement): number {
  return Math.max(1, Math.floor(p.hostSlots / p.localSize));
}

/**
 * The variables a rank needs from the launcher, without the inherited environment: what a remote rank gets
 * through `env VAR=...`. User exports come first so the launcher's own variables win over them.
 */
export function rankVariables(job: JobEnv, p: Placement, userEnv: NodeJS.ProcessEnv): Record<string, string> {
  const vars: Record<string, string> = { ...job.exports };
  const userThreads = job.exports.OPENBLAS_NUM_THREADS ?? userEnv.OPENBLAS_NUM_THREADS;
  vars.OPENBLAS_NUM_THREADS = userThreads ?? String(blasThreads(p));
  // Tile kernels run on libuv's thread pool (4 threads unless set before Node starts): one per owned core, and
  // two more so file I/O is not queued behind kernels.
  vars.UV_THREADPOOL_SIZE = job.exports.UV_THREADPOOL_SIZE ?? userEnv.UV_THREADPOOL_SIZE ??
    String(Math.max(4, Number(vars.OPENBLAS_NUM_THREADS) + 2));
  // Ranks bind to their share of the host's cores unless told otherwise (the rank applies it: src/kernels/config.ts).
  vars.DARRAY_BIND = job.bind ?? job.exports.DARRAY_BIND ?? userEnv.DARRAY_BIND ?? 'core';
  vars.DARRAY_RANK = String(p.rank);
  vars.DARRAY_SIZE = String(job.size);
  vars.DARRAY_JOB_ID = job.jobId;
  vars.DARRAY_ROOT = job.root;
  vars.DARRAY_RUNDIR = p.local ? job.rundir : `${job.rundir}/r${p.rank}`;
  vars.DARRAY_LOCAL_RANK = String(p.localRank);
  vars.DARRAY_LOCAL_SIZE = String(p.localSize);
  vars.DARRAY_TRANSPORT = job.transport;
  if (job.transport === 'tcp') vars.DARRAY_HOST = hostAddress(p.host, true);
  // Where the rank finds its keys: a path, never the keys themselves (command lines and environments are visible).
  if (job.keys) vars.DARRAY_KEYFILE = p.local ? `${job.rundir}/keys-${p.rank}.json` : `${vars.DARRAY_RUNDIR}/keys.json`;
  if (job.traceDir !== undefined) vars.DARRAY_TRACE_DIR = job.traceDir;
  return vars;
}

/** The full environment of a rank started on this machine: the launcher's own, minus stale launcher
 * variables, plus the rank's variables. */
export function localRankEnv(job: JobEnv, p: Placement, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const name of OWNED) delete env[name];
  return { ...env, ...rankVariables(job, p, base) };
}
