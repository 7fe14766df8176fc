/**
 * Fixed-window rate limits keyed by anything (client IP, account), counted in the ephemeral state
 * (identity/ephemeral-state.ts): in memory for the embedded edge, in Redis for a cluster, where every node adds to
 * the same count. The clock is injectable for tests (it drives the memory state made when none is given).
 */
import { createMemoryEphemeralState, type EphemeralState } from './ephemeral-state.ts';

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the window resets (only meaningful when not allowed). */
  retryAfter: number;
}

export interface RateLimiter {
  hit(key: string): Promise<RateLimitResult>;
  reset(key: string): Promise<void>;
}

export interface RateLimitOptions {
  limit: number;
  windowSeconds: number;
  /** Where counts live; default a memory state of its own. */
  state?: EphemeralState;
  /** Keeps this limiter's counts apart from others' in a shared state. */
  name?: string;
  now?: () => number;
  /** Cap on tracked keys of the default memory state (bounded memory under a spray of addresses). */
  maxKeys?: number;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const state = options.state ?? createMemoryEphemeralState({ now: options.now, maxKeys: options.maxKeys ?? 100_000 });
  const windowMs = options.windowSeconds * 1000;
  const k = (key: string): string => `rate:${options.name ?? 'default'}:${key}`;
  return {
    async hit(key) {
      const w = await state.hit(k(key), windowMs);
      if (w.count <= options.limit) return { allowed: true, retryAfter: 0 };
      return { allowed: false, retryAfter: Math.max(1, Math.ceil(w.resetMs / 1000)) };
    },
    async reset(key) {
      await state.delete(k(key));
    },
  };
}
