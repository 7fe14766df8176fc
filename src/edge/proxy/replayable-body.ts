import type { Readable, Writable } from 'node:stream';

/**
 * A request body on its way to a tunnel stream, kept so it can be sent again. A stream the connector refused (a tunnel
 * closing after a move, REFUSED_STREAM) or a peer node turned away (no tunnel of the group after all) never reached a
 * backend, so the request may go to another connector — but only with its whole body, and the client's bytes are
 * read once. What was sent is kept up to REPLAY_LIMIT bytes; past that nothing is kept and, once a byte has gone,
 * the request is not resent (Envoy's retry buffer has the same rule). Kept only until the response head arrives.
 *
 * All requests together keep at most REPLAY_BUDGET bytes: many slow uploads to a slow backend would otherwise hold
 * 64 KiB each for as long as the backend takes to answer. A body that finds the budget spent is not kept.
 */
export const REPLAY_LIMIT = 64 * 1024;
export const REPLAY_BUDGET = 32 * 1024 * 1024;

/** Bytes kept by every body of this process. */
let kept = 0;

export function replayBytesKept(): number {
  return kept;
}

export class ReplayableBody {
  readonly #source: Readable;
  /** What has been sent so far, while under the limit and the budget; null once not (or released). */
  #sent: Buffer[] | null = [];
  /** Bytes read from the client so far. */
  #bytes = 0;
  /** Of those, the ones counted in the process's budget. */
  #kept = 0;
  #released = false;
  readonly #record = (chunk: Buffer): void => {
    this.#bytes += chunk.length;
    if (this.#sent === null) return;
    if (this.#bytes > REPLAY_LIMIT || kept + chunk.length > REPLAY_BUDGET) return this.#drop();
    this.#sent.push(chunk);
    this.#kept += chunk.length;
    kept += chunk.length;
  };

  constructor(source: Readable) {
    this.#source = source;
  }

  /** Nothing of the body has gone yet, or all that has is still here to send again. */
  get resendable(): boolean {
    return !this.#released && (this.#bytes === 0 || this.#sent !== null);
  }

  /**
   * Streams the body into `up`: first what an earlier attempt already sent, then the rest as it arrives (paced by
   * `up`'s flow control). A source that has already ended ends `up` after the replayed bytes.
   */
  attach(up: Writable): void {
    if (this.#sent !== null) for (const chunk of this.#sent) up.write(chunk);
    // Listening only now, beside the pipe: an earlier 'data' listener would start the flow while the request waits for
    // a tunnel, and those chunks would go nowhere.
    if (!this.#released) this.#source.on('data', this.#record);
    this.#source.pipe(up);
  }

  /** The attempt on `up` is abandoned: the body stops flowing into it (and the source pauses) until the next attach. */
  detach(up: Writable): void {
    this.#source.removeListener('data', this.#record);
    this.#source.unpipe(up);
  }

  /** The response has started, or the request is over: it will not be sent again, so the kept bytes go. Idempotent. */
  release(): void {
    this.#released = true;
    this.#drop();
    this.#source.removeListener('data', this.#record);
  }

  #drop(): void {
    this.#sent = null;
    kept -= this.#kept;
    this.#kept = 0;
  }
}
