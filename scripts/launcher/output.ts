// Line-tagged output: each rank's bytes are cut into whole lines and written with a `[rank] ` prefix,
// one write per batch of whole lines, so lines of different ranks never interleave mid-line.

/** Longest partial line kept back before it is written anyway (a rank printing without newlines). */
const MAX_PENDING = 8 * 1024 * 1024;
const NL = 0x0a;

/** Where tagged lines go; `write` returning false asks the writer to slow down (a Node stream). */
export interface Sink { write(chunk: Buffer | string): unknown; once?(event: 'drain', listener: () => void): unknown }

export class LineWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly prefix: Buffer;

  constructor(prefix: string, private readonly out: Sink) {
    this.prefix = Buffer.from(prefix);
  }

  /** Takes a chunk of the rank's output; writes every line it completes. False: the sink is full. */
  push(chunk: Buffer): boolean {
    const last = chunk.lastIndexOf(NL);
    if (last < 0) {
      this.keep(chunk);
      return true;
    }
    const parts: Buffer[] = [];
    let start = 0;
    let first = true;
    while (start <= last) {
      const nl = chunk.indexOf(NL, start);
      parts.push(this.prefix);
      if (first && this.pendingBytes > 0) parts.push(...this.pending);
      first = false;
      parts.push(chunk.subarray(start, nl + 1));
      start = nl + 1;
    }
    this.pending = [];
    this.pendingBytes = 0;
    const ok = this.out.write(Buffer.concat(parts)) !== false;
    if (start < chunk.length) this.keep(chunk.subarray(start));
    return ok;
  }

  /** Writes a partial last line (with a newline added); called when the rank's stream ends. */
  flush(): void {
    if (this.pendingBytes === 0) return;
    const line = Buffer.concat([this.prefix, ...this.pending, Buffer.from('\n')]);
    this.pending = [];
    this.pendingBytes = 0;
    this.out.write(line);
  }

  private keep(part: Buffer): void {
    // Copy: the stream may reuse its buffer after the callback.
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
    if (this.pendingBytes >= MAX_PENDING) this.flush();
  }
}
