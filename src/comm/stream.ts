// One ordered send stream to a peer over a zmq DEALER: zeromq.js allows one send in flight per socket, so further
// messages queue here in order, and a full pipe (EAGAIN after the send timeout) is waited out, checking the peer.
import type * as zmq from 'zeromq';

interface Outgoing {
  frames: Buffer[];
  done: (err?: Error) => void;
}

/** One ordered zmq DEALER stream to a peer; zeromq allows one send in flight per socket, so sends queue here. */
export class Stream {
  private readonly queue: Outgoing[] = [];
  private busy = false;
  constructor(readonly sock: zmq.Dealer, private readonly lost: () => Error | undefined) {}

  get idle(): boolean {
    return !this.busy && this.queue.length === 0;
  }

  push(frames: Buffer[]): Promise<void> {
    if (!this.busy && this.queue.length === 0 && !this.lost()) {
      // Fast path: an idle stream hands the message to zmq at once (it queues without waiting unless full).
      this.busy = true;
      return this.sock.send(frames).then(this.release, (e: { code?: string }) => {
        this.busy = false;
        if (e.code !== 'EAGAIN') {
          if (this.queue.length) void this.pump();
          throw e;
        }
        // Full: go back to the head of the queue (order!) and let the pump wait for room.
        return new Promise<void>((resolve, reject) => {
          this.queue.unshift({ frames, done: (err) => (err ? reject(err) : resolve()) });
          void this.pump();
        });
      });
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frames, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.busy) void this.pump();
    });
  }

  /** Ends a fast-path send: the stream is free for queued messages (returns nothing: no extra promise to adopt). */
  private readonly release = (): void => {
    this.busy = false;
    if (this.queue.length) void this.pump();
  };

  private async pump(): Promise<void> {
    this.busy = true;
    while (this.queue.length) {
      const m = this.queue[0];
      let err: Error | undefined;
      for (;;) {
        err = this.lost();
        if (err) break;
        try {
          await this.sock.send(m.frames);
          break;
        } catch (e) {
          const code = (e as { code?: string }).code;
          if (code === 'EAGAIN') continue; // queue full: wait again, checking the peer each time
          err = e as Error;
          break;
        }
      }
      this.queue.shift();
      m.done(err);
    }
    this.busy = false;
  }

  /** Rejects everything queued (the peer is lost or the transport closed). */
  drain(err: Error): void {
    for (const m of this.queue.splice(this.busy ? 1 : 0)) m.done(err);
  }
}
