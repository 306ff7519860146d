// Error classes of darray. Every failure a user sees is a DArrayError subclass whose message names the
// rank, the operation and (where there is one) the peer and tag, so a log line alone says what went wrong.

/** Context attached to errors: who raised it, doing what, with whom. */
export interface ErrorContext {
  rank?: number;
  op?: string;
  peer?: number;
  tag?: number;
}

function prefix(ctx: ErrorContext): string {
  const parts: string[] = [];
  if (ctx.rank !== undefined) parts.push(`rank ${ctx.rank}`);
  if (ctx.op !== undefined) parts.push(ctx.op);
  if (ctx.peer !== undefined) parts.push(`peer ${ctx.peer}`);
  if (ctx.tag !== undefined) parts.push(`tag ${ctx.tag}`);
  return parts.length ? `[${parts.join(', ')}] ` : '';
}

/** Base class of every darray error. `name` is set to the concrete class name so it survives serialisation. */
export class DArrayError extends Error {
  readonly rank?: number;
  readonly op?: string;
  readonly peer?: number;
  readonly tag?: number;

  constructor(message: string, ctx: ErrorContext = {}, options?: { cause?: unknown }) {
    super(prefix(ctx) + message, options);
    this.name = new.target.name;
    this.rank = ctx.rank;
    this.op = ctx.op;
    this.peer = ctx.peer;
    this.tag = ctx.tag;
  }
}

/** A communication failure that is not a timeout or a dead peer (bad arguments to a comm call, closed comm). */
export class CommError extends DArrayError {}

/** A bounded wait ran out. */
export class TimeoutError extends DArrayError {}

/** A peer died or stopped answering heartbeats; every pending operation that needs it fails with this. */
export class PeerFailedError extends DArrayError {}

/** A malformed or foreign message arrived (bad header, wrong job, truncated frames). */
export class ProtocolError extends DArrayError {}

/** Shapes, dtypes, block sizes or communicators of DArray operands do not agree. */
export class ShapeError extends DArrayError {}

/** A Cholesky factorization met a leading minor that is not positive definite. `column` is 0-based, global. */
export class NotPositiveDefiniteError extends DArrayError {
  readonly column: number;
  constructor(column: number, ctx: ErrorContext = {}, detail = '') {
    super(`matrix is not positive definite: leading minor of order ${column + 1} is not positive${detail}`, ctx);
    this.column = column;
  }
}

/** LU met an exactly zero pivot. `column` is 0-based. */
export class SingularMatrixError extends DArrayError {
  readonly column: number;
  constructor(column: number, ctx: ErrorContext = {}) {
    super(`matrix is singular: U(${column},${column}) is exactly zero`, ctx);
    this.column = column;
  }
}

/** Spilling a tile to disk failed (disk full, quota, permissions); the tile stays in memory, unchanged. */
export class SpillError extends DArrayError {}

/** A file operation (save, load, open) failed on one or more ranks; the message names them and the cause. */
export class IOError extends DArrayError {}

/** The native addon or an OpenCL device is missing or refused the request. */
export class BackendError extends DArrayError {}
