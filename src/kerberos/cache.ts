// In-memory credential cache: entries live until shortly before their endtime,
// concurrent misses for one key share a single KDC round trip, and the oldest
// entries go first when the cache is full (a connector serves many users).
import type { Clock, Credential } from './credential.ts';
import { systemClock } from './credential.ts';
import { Channels, publish } from './events.ts';

export type CacheOptions = {
  /** Drop an entry this long before its endtime (capped at half its lifetime). Default 5 min. */
  refreshBeforeMs?: number;
  /** Default 10000. */
  maxEntries?: number;
  clock?: Clock;
};

export class CredentialCache {
  readonly #entries = new Map<string, Credential>();
  readonly #inflight = new Map<string, Promise<Credential>>();
  readonly #refreshBeforeMs: number;
  readonly #maxEntries: number;
  readonly #clock: Clock;

  constructor(opts: CacheOptions = {}) {
    this.#refreshBeforeMs = opts.refreshBeforeMs ?? 5 * 60_000;
    this.#maxEntries = opts.maxEntries ?? 10_000;
    this.#clock = opts.clock ?? systemClock;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** True while the credential is comfortably inside its validity window. */
  isFresh(c: Credential): boolean {
    const start = (c.starttime ?? c.authtime).getTime();
    const end = c.endtime.getTime();
    const margin = Math.min(this.#refreshBeforeMs, Math.max(0, (end - start) / 2));
    return this.#clock() < end - margin;
  }

  get(key: string): Credential | undefined {
    const c = this.#entries.get(key);
    if (!c) return undefined;
    if (!this.isFresh(c)) {
      this.#entries.delete(key);
      return undefined;
    }
    // Refresh recency for the eviction order.
    this.#entries.delete(key);
    this.#entries.set(key, c);
    return c;
  }

  set(key: string, c: Credential): void {
    this.#entries.delete(key);
    this.#entries.set(key, c);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Cached credential, or the result of `create` (shared by concurrent callers). */
  async getOrCreate(key: string, create: () => Promise<Credential>): Promise<Credential> {
    const hit = this.get(key);
    publish(Channels.cache, { key, hit: hit !== undefined });
    if (hit) return hit;
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const p = (async () => {
      try {
        const c = await create();
        this.set(key, c);
        return c;
      } finally {
        this.#inflight.delete(key);
      }
    })();
    this.#inflight.set(key, p);
    return p;
  }
}
