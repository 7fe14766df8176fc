/**
 * Fixed-window rate limits keyed by anything (client IP, account). In memory for the embedded edge; the interface is
 * what a Redis-backed limiter implements in a cluster. The clock is injectable for tests.
 */
export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the window resets (only meaningful when not allowed). */
  retryAfter: number;
}

export interface RateLimiter {
  hit(key: string): RateLimitResult;
  reset(key: string): void;
}

export interface RateLimitOptions {
  limit: number;
  windowSeconds: number;
  now?: () => number;
  /** Cap on tracked keys; the oldest windows are dropped first (bounded memory under a spray of addresses). */
  maxKeys?: number;
}

export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const now = options.now ?? Date.now;
  const windowMs = options.windowSeconds * 1000;
  const maxKeys = options.maxKeys ?? 100_000;
  const windows = new Map<string, { start: number; count: number }>();
  return {
    hit(key) {
      const t = now();
      let w = windows.get(key);
      if (!w || t - w.start >= windowMs) {
        if (w) windows.delete(key);
        w = { start: t, count: 0 };
        windows.set(key, w);
        if (windows.size > maxKeys) {
          for (const [k, v] of windows) {
            if (windows.size <= maxKeys || t - v.start < windowMs) break;
            windows.delete(k);
          }
          if (windows.size > maxKeys) windows.delete(windows.keys().next().value as string);
        }
      }
      w.count++;
      if (w.count <= options.limit) return { allowed: true, retryAfter: 0 };
      return { allowed: false, retryAfter: Math.max(1, Math.ceil((w.start + windowMs - t) / 1000)) };
    },
    reset(key) {
      windows.delete(key);
    },
  };
}
