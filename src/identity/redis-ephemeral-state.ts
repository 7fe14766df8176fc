/**
 * Ephemeral sign-in state in Redis, shared by every edge node (identity/ephemeral-state.ts says what it holds).
 * Every key is `<prefix>eph:<key>` with a Redis expiry; `take` is GETDEL and `hit` one Lua script (INCR, and PEXPIRE
 * on the first hit of a window), so both are atomic however many nodes call them at once.
 */
import { Redis } from 'ioredis';
import type { CounterWindow, EphemeralState } from './ephemeral-state.ts';

export interface RedisEphemeralOptions {
  url: string;
  /** Namespace for every key (several deployments or tests sharing one Redis); default `drawbridge:`. */
  keyPrefix?: string;
}

// A counter whose key somehow lost its expiry (PTTL -1) gets the window again rather than counting for ever.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); t = tonumber(ARGV[1]) end
return {n, t}
`;

export function createRedisEphemeralState(options: RedisEphemeralOptions): EphemeralState {
  const prefix = `${options.keyPrefix ?? 'drawbridge:'}eph:`;
  // A request waits for at most one reconnect attempt's worth of commands rather than queueing without bound.
  const redis = new Redis(options.url, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
  redis.on('error', () => {
    /* reported by the failing command; ioredis reconnects by itself */
  });
  const k = (key: string): string => prefix + key;
  const parse = <T>(raw: string | null): T | null => (raw === null ? null : (JSON.parse(raw) as T));

  return {
    async set(key, value, ttlMs) {
      await redis.set(k(key), JSON.stringify(value), 'PX', Math.max(1, Math.ceil(ttlMs)));
    },
    async get(key) {
      return parse(await redis.get(k(key)));
    },
    async take(key) {
      return parse(await redis.getdel(k(key)));
    },
    async delete(...keys) {
      if (keys.length > 0) await redis.del(...keys.map(k));
    },
    async hit(key, windowMs): Promise<CounterWindow> {
      const [count, ttl] = (await redis.eval(HIT, 1, k(key), Math.max(1, Math.ceil(windowMs)))) as [number, number];
      return { count, resetMs: Math.max(1, ttl) };
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
