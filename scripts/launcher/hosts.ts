// Hostfile parsing and rank placement: which host each rank runs on, and its local rank there.
// Ranks fill hosts in hostfile order up to their slots (Open MPI's by-slot mapping).

import os from 'node:os';
import { UsageError } from './args.js';

export interface HostEntry { host: string; slots: number; slotsGiven: boolean }

/** Where one rank runs. */
export interface Placement {
  rank: number;
  host: string;
  local: boolean;          // started here, without the launch agent
  localRank: number;
  localSize: number;
  hostSlots: number;       // cores we may assume on that host (for BLAS threads)
}

const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** Hosts started without the launch agent. Other loopback addresses (127.0.0.2) go through the agent. */
export function isLocalHost(host: string): boolean {
  return LOCAL_NAMES.has(host.toLowerCase());
}

/** Parses hostfile text: `host [slots=N]` per line, `#` comments, blank lines. */
export function parseHostfile(text: string, fileName = 'hostfile'): HostEntry[] {
  const hosts: HostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, idx) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const where = `${fileName}:${idx + 1}`;
    const [host, ...rest] = line.split(/\s+/);
    if (!/^[A-Za-z0-9_.:\-\[\]%]+$/.test(host)) throw new UsageError(`${where}: bad host name '${host}'`);
    let slots: number | undefined;
    for (const field of rest) {
      const m = /^(slots|max_slots|max-slots)=(\d+)$/.exec(field);
      if (!m) throw new UsageError(`${where}: expected 'slots=N' after the host name, got '${field}'`);
      if (m[1] !== 'slots') continue;   // max_slots is accepted for Open MPI compatibility, not enforced
      slots = Number(m[2]);
      if (slots < 1) throw new UsageError(`${where}: slots must be at least 1, got ${m[2]}`);
    }
    const existing = hosts.find((h) => h.host === host);
    // A host listed twice adds its slots, as in Open MPI.
    if (existing) {
      existing.slots += slots ?? 1;
      existing.slotsGiven ||= slots !== undefined;
    } else {
      hosts.push({ host, slots: slots ?? (isLocalHost(host) ? os.availableParallelism() : 1), slotsGiven: slots !== undefined });
    }
  });
  if (hosts.length === 0) throw new UsageError(`${fileName}: no hosts listed`);
  return hosts;
}

/**
 * Maps `np` ranks onto hosts: each host takes up to its slots, in order. More ranks than slots is an
 * error unless `oversubscribe`, in which case the extra ranks go round-robin over the hosts.
 */
export function placeRanks(np: number, hosts: HostEntry[], oversubscribe: boolean): Placement[] {
  const total = hosts.reduce((s, h) => s + h.slots, 0);
  if (np > total && !oversubscribe) {
    throw new UsageError(`${np} ranks requested but the hostfile has only ${total} slots; use --oversubscribe to allow more`);
  }
  const hostOf: number[] = [];
  for (let h = 0; h < hosts.length && hostOf.length < np; h++) {
    for (let s = 0; s < hosts[h].slots && hostOf.length < np; s++) hostOf.push(h);
  }
  for (let extra = 0; hostOf.length < np; extra++) hostOf.push(extra % hosts.length);
  // Keep ranks of one host contiguous in rank order when oversubscribed, so rank numbering stays by host.
  hostOf.sort((a, b) => a - b);
  const localSize = hosts.map((_, h) => hostOf.filter((x) => x === h).length);
  const seen = hosts.map(() => 0);
  return hostOf.map((h, rank) => ({
    rank,
    host: hosts[h].host,
    local: isLocalHost(hosts[h].host),
    localRank: seen[h]++,
    localSize: localSize[h],
    hostSlots: hosts[h].slots,
  }));
}

/** All ranks on this machine (no hostfile). Any number of ranks is allowed: it only costs BLAS threads. */
export function placeLocal(np: number): Placement[] {
  const cores = os.availableParallelism();
  return Array.from({ length: np }, (_, rank) => ({
    rank, host: 'localhost', local: true, localRank: rank, localSize: np, hostSlots: cores,
  }));
}
