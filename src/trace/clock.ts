// Clock offsets between ranks: ping-pong exchanges with rank 0 (the NTP estimate, best of several rounds),
// and the correction that maps a rank's timestamps onto rank 0's clock, drift included.
import type { ClockSample } from './format.js';

/** The little of a communicator the exchange needs (a private one, so no user message can interleave). */
export interface PingComm {
  readonly rank: number;
  readonly size: number;
  send(data: unknown, dest: number, tag?: number): Promise<void>;
  recv<T = unknown>(source: number, tag?: number): Promise<T>;
}

/** Absolute time in ms on this process's clock (what the part files record as timeOrigin + t). */
export const absNow = (): number => performance.timeOrigin + performance.now();

/** One exchange seen from a rank: sent at t0, rank 0 stamped root, answer back at t1 (t0, t1 local, all ms). */
export interface Exchange {
  t0: number;
  root: number;
  t1: number;
}

/**
 * The offset (local clock minus rank 0's) from the round with the shortest round trip: the one least delayed
 * one way or the other, whose error is at most half its round trip.
 */
export function bestOffset(xs: readonly Exchange[]): { offset: number; rtt: number } {
  if (xs.length === 0) throw new RangeError('bestOffset: no exchanges');
  let best = xs[0];
  for (const x of xs) if (x.t1 - x.t0 < best.t1 - best.t0) best = x;
  return { offset: (best.t0 + best.t1) / 2 - best.root, rtt: best.t1 - best.t0 };
}

/**
 * Collective over `comm`: every rank other than 0 runs `rounds` ping-pongs with rank 0 (served one rank after
 * the other) and returns its sample, `at` in ms of performance.now(); rank 0 returns its own (offset 0).
 */
export async function measureOffset(comm: PingComm, rounds = 8): Promise<ClockSample> {
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`measureOffset: rounds must be a positive integer, got ${rounds}`);
  if (comm.rank === 0) {
    for (let r = 1; r < comm.size; r++) {
      for (let k = 0; k < rounds; k++) {
        await comm.recv(r, 0);
        await comm.send(absNow(), r, 0);
      }
    }
    return { at: performance.now(), offset: 0, rtt: 0 };
  }
  const xs: Exchange[] = [];
  for (let k = 0; k < rounds; k++) {
    const t0 = absNow();
    await comm.send(k, 0, 0);
    const root = await comm.recv<number>(0, 0);
    xs.push({ t0, root, t1: absNow() });
  }
  const { offset, rtt } = bestOffset(xs);
  return { at: performance.now(), offset, rtt };
}

/**
 * The offset (ms) to subtract from a local time `t` (ms of performance.now()): interpolated between the samples
 * around t (clocks drift apart slowly), the nearest sample's beyond them, 0 without samples.
 */
export function offsetAt(samples: readonly ClockSample[], t: number): number {
  if (samples.length === 0) return 0;
  const s = [...samples].sort((a, b) => a.at - b.at);
  if (t <= s[0].at) return s[0].offset;
  for (let i = 1; i < s.length; i++) {
    if (t <= s[i].at) {
      const [a, b] = [s[i - 1], s[i]];
      return b.at === a.at ? b.offset : a.offset + ((t - a.at) / (b.at - a.at)) * (b.offset - a.offset);
    }
  }
  return s[s.length - 1].offset;
}
