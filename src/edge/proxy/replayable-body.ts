import type { Readable, Writable } from 'node:stream';

/**
 * A request body on its way to a tunnel stream, kept so it can be sent again. A stream the connector refused (a tunnel
 * closing after a move, REFUSED_STREAM) or a peer node turned away (no tunnel of the group after all) never reached a
 * backend, so the request may go to another connector — but only with its whole body, and the client's bytes are
 * read once. What was sent is kept up to REPLAY_LIMIT bytes; past that nothing is kept and, once a byte has gone,
 * the request is not resent (Envoy's retry buffer has the same rule). Kept only until the response head arrives.
 *
 * The copy is one contiguous buffer, never the client's chunks: a body sent a byte per chunk would otherwise hold a
 * Buffer object per byte. All requests together keep at most REPLAY_BUDGET bytes of such buffers (counted by what is
 * allocated): many slow uploads to a slow backend would otherwise hold 64 KiB each for as long as the backend takes.
 * A body that finds the budget spent is not kept.
 */
export const REPLAY_LIMIT = 64 * 1024;
export const REPLAY_BUDGET = 32 * 1024 * 1024;
/** The first allocation of a copy; it doubles as the body grows (most bodies fit the first). */
const FIRST_COPY_BYTES = 2 * 1024;

/** Bytes allocated for the copies of every body of this process. */
let kept = 0;

export function replayBytesKept(): number {
  return kept;
}

export class ReplayableBody {
  readonly #source: Readable;
  /**
   * The copy of what has been sent, while under the limit and the budget: its first #bytes bytes are the body so far.
   * Null before the first byte and once dropped.
   */
  #copy: Buffer | null = null;
  /** Bytes read from the client so far. */
  #bytes = 0;
  #dropped = false;
  #released = false;
  readonly #record = (chunk: Buffer): void => {
    const before = this.#bytes;
    this.#bytes += chunk.length;
    if (this.#dropped) return;
    if (this.#bytes > REPLAY_LIMIT) return this.#drop();
    if (this.#copy === null || this.#bytes > this.#copy.length) {
      const had = this.#copy?.length ?? 0;
      const size = Math.min(REPLAY_LIMIT, Math.max(this.#bytes, had * 2, FIRST_COPY_BYTES));
      if (kept - had + size > REPLAY_BUDGET) return this.#drop();
      // Not from Node's shared pool: a pooled slice would keep its whole 8 KiB slab alive.
      const grown = Buffer.allocUnsafeSlow(size);
      // Bytes already written to a stream stay where they were: only what follows them is ever copied in.
      this.#copy?.copy(grown, 0, 0, before);
      kept += size - had;
      this.#copy = grown;
    }
    chunk.copy(this.#copy, before);
  };

  constructor(source: Readable) {
    this.#source = source;
  }

  /** Nothing of the body has gone yet, or all that has is still here to send again. */
  get resendable(): boolean {
    return !this.#released && (this.#bytes === 0 || !this.#dropped);
  }

  /**
   * Streams the body into `up`: first what an earlier attempt already sent, then the rest as it arrives (paced by
   * `up`'s flow control). A source that has already ended ends `up` after the replayed bytes.
   */
  attach(up: Writable): void {
    if (this.#copy !== null && this.#bytes > 0) up.write(this.#copy.subarray(0, this.#bytes));
    // Listening only now, beside the pipe: an earlier 'data' listener would start the flow while the request waits for
    // a tunnel, and those chunks would go nowhere.
    if (!this.#released) this.#source.on('data', this.#record);
    this.#source.pipe(up);
  }

  /** The attempt on `up` is abandoned: the body stops flowing into it, and the source stays paused until the next attach. */
  detach(up: Writable): void {
    this.#source.removeListener('data', this.#record);
    this.#source.unpipe(up);
    // Unpiping a stream that was pushing back resumes the source whenever any other 'data' listener is left (the body
    // idle timer's is): chunks read then would go nowhere. pipe() resumes it on the next attach.
    this.#source.pause();
  }

  /** The response has started, or the request is over: it will not be sent again, so the kept bytes go. Idempotent. */
  release(): void {
    this.#released = true;
    this.#drop();
    this.#source.removeListener('data', this.#record);
  }

  #drop(): void {
    this.#dropped = true;
    kept -= this.#copy?.length ?? 0;
    this.#copy = null;
  }
}
