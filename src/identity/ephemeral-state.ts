/**
 * Short-lived sign-in state that every edge node must see the same: one-time hand-off codes, OIDC and WebAuthn flow
 * records, rate-limit windows and the lockout counts kept outside the directory. Three operations cover them all:
 * a value with a lifetime (`set`/`get`), a value that works once (`take`, atomic: of two nodes redeeming the same
 * code at once only one gets it), and a counter over a fixed window (`hit`, atomic across nodes).
 *
 * `createMemoryEphemeralState()` serves one edge node (the embedded default); identity/redis-ephemeral-state.ts
 * serves a cluster. Both pass identity/ephemeral-state.contract.ts. Values are JSON: what comes back is a copy.
 */
export interface CounterWindow {
  /** Hits in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends (at least 1). */
  resetMs: number;
}

export interface EphemeralState {
  /** Stores `value` (JSON) under `key` for `ttlMs`, replacing what was there. */
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  get<T = unknown>(key: string): Promise<T | null>;
  /** Returns and deletes in one step: a value taken once is gone for every node. */
  take<T = unknown>(key: string): Promise<T | null>;
  delete(...keys: string[]): Promise<void>;
  /**
   * Counts one hit on `key`. The window starts with the first hit and lasts `windowMs`; later hits do not lengthen
   * it; once it has passed the next hit starts a new window at 1.
   */
  hit(key: string, windowMs: number): Promise<CounterWindow>;
  close(): Promise<void>;
}

export interface MemoryEphemeralOptions {
  now?: () => number;
  /** Entries kept at most; the least recently written go first (bounded memory under a spray of names/addresses). */
  maxKeys?: number;
  sweepSeconds?: number;
}

interface Entry {
  /** JSON text for values, the count for counters. */
  value: string | number;
  expiresAt: number;
}

export function createMemoryEphemeralState(options: MemoryEphemeralOptions = {}): EphemeralState {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 200_000;
  const entries = new Map<string, Entry>();

  const live = (key: string): Entry | undefined => {
    const e = entries.get(key);
    if (e && e.expiresAt <= now()) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  const write = (key: string, entry: Entry): void => {
    entries.delete(key); // re-inserted last: the map's order is least recently written first
    entries.set(key, entry);
    if (entries.size > maxKeys) entries.delete(entries.keys().next().value as string);
  };
  const parse = <T>(e: Entry | undefined): T | null =>
    e && typeof e.value === 'string' ? (JSON.parse(e.value) as T) : null;

  const sweep = setInterval(
    () => {
      const t = now();
      for (const [k, e] of entries) if (e.expiresAt <= t) entries.delete(k);
    },
    (options.sweepSeconds ?? 60) * 1000,
  );
  sweep.unref();

  return {
    async set(key, value, ttlMs) {
      write(key, { value: JSON.stringify(value), expiresAt: now() + Math.max(1, ttlMs) });
    },
    async get(key) {
      return parse(live(key));
    },
    async take(key) {
      const e = live(key);
      entries.delete(key);
      return parse(e);
    },
    async delete(...keys) {
      for (const k of keys) entries.delete(k);
    },
    async hit(key, windowMs) {
      const t = now();
      const e = live(key);
      const next: Entry =
        e && typeof e.value === 'number'
          ? { value: e.value + 1, expiresAt: e.expiresAt }
          : { value: 1, expiresAt: t + Math.max(1, windowMs) };
      write(key, next);
      return { count: next.value as number, resetMs: Math.max(1, next.expiresAt - t) };
    },
    async close() {
      clearInterval(sweep);
      entries.clear();
    },
  };
}
