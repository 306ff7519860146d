// The seam between the Comm class and the collective algorithms: one Channel per collective call, isolated
// from user point-to-point traffic and from every other call (docs/internal-interfaces.md).
import type { LocalGroup } from './shm.js';

/**
 * A private message channel among the ranks of one collective call.
 *
 * Between one pair of ranks, messages of one call arrive in the order sent. A TypedArray travels as raw
 * frames and is received as the same TypedArray type and length (a view the receiver owns); any other value
 * travels as msgpack. Sends may be issued without awaiting earlier ones and go out in call order; a send's
 * promise resolves when its buffer may be reused. The collectives never modify a buffer after passing it to
 * `send` until that send's promise has resolved, and never call `recv` twice at once for the same source.
 */
export interface Channel {
  readonly rank: number;
  readonly size: number;
  send(data: unknown, dest: number): Promise<void>; // TypedArray travels as raw frames
  recv(source: number): Promise<unknown>; // exact source
  /** Present when every rank of the communicator runs on this host: large collectives may share memory. */
  readonly local?: LocalGroup;
}
