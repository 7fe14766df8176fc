/**
 * Jittered exponential backoff ("full jitter"): spreads reconnect storms after an edge restart.
 * The random source is injectable so tests are deterministic.
 */
export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
  random?: () => number;
}

export class Backoff {
  #attempt = 0;
  readonly #options: BackoffOptions;

  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  next(): number {
    const { baseMs, maxMs, random = Math.random } = this.#options;
    const ceiling = Math.min(maxMs, baseMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(ceiling / 2 + random() * (ceiling / 2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
