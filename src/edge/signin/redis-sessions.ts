/**
 * Sessions in Redis: they survive an edge restart, and every edge node of a cluster sees the same ones (a sign-out
 * or an admin revocation on one node ends the session on all). Same contract as the memory store
 * (session-store.contract.ts); records are JSON under the SHA-256 of their id, with a Redis expiry at the
 * session's own end (idle or absolute), refreshed on each write. Expiry is also checked on read against the
 * store's clock, so a record never outlives its session by the width of a clock tick.
 *
 * Keys (`<prefix>` defaults to `drawbridge:`): `central:<h>`, `app:<h>`, `central-apps:<h>` (the app sessions a
 * central one opened), `user:<tenant>:<user>` (a user's central sessions, for revocation). One-time codes and flow records are ephemeral
 * state (identity/redis-ephemeral-state.ts, `eph:` keys).
 */
import { Redis } from 'ioredis';
import { expiresAt, isAlive, recordKey as h, type AppSession, type CentralSession, type SessionStore } from './sessions.ts';

export interface RedisSessionOptions {
  url: string;
  /** Namespace for every key (several edges or tests sharing one Redis). */
  keyPrefix?: string;
  now?: () => number;
}

export function createRedisSessionStore(options: RedisSessionOptions): SessionStore {
  const now = options.now ?? Date.now;
  const prefix = options.keyPrefix ?? 'drawbridge:';
  // A request waits for at most one reconnect attempt's worth of commands rather than queueing without bound.
  const redis = new Redis(options.url, { maxRetriesPerRequest: 2, enableAutoPipelining: true });
  redis.on('error', () => { /* reported by the failing command; ioredis reconnects by itself */ });
  const key = {
    central: (hc: string) => `${prefix}central:${hc}`,
    app: (ha: string) => `${prefix}app:${ha}`,
    centralApps: (hc: string) => `${prefix}central-apps:${hc}`,
    user: (tenantId: string, userId: string) => `${prefix}user:${tenantId}:${userId}`,
  };
  /** Milliseconds until the session ends, at least 1 (Redis refuses 0) — the key goes when the session does. */
  const ttl = (s: CentralSession | AppSession): number => Math.max(1, expiresAt(s) - now());

  async function dropCentral(hc: string): Promise<void> {
    const raw = await redis.get(key.central(hc));
    const apps = await redis.smembers(key.centralApps(hc));
    const tx = redis.multi().del(key.central(hc), key.centralApps(hc), ...apps.map(key.app));
    if (raw) {
      const s = JSON.parse(raw) as CentralSession;
      tx.srem(key.user(s.tenantId, s.userId), hc);
    }
    await tx.exec();
  }

  async function read<T extends CentralSession | AppSession>(k: string, drop: () => Promise<void>): Promise<T | null> {
    const raw = await redis.get(k);
    if (!raw) return null;
    const s = JSON.parse(raw) as T;
    if (!isAlive(s, now())) {
      await drop();
      return null;
    }
    return s;
  }

  return {
    async putCentral(s) {
      const hc = h(s.id);
      const userKey = key.user(s.tenantId, s.userId);
      await redis.multi()
        .set(key.central(hc), JSON.stringify(s), 'PX', ttl(s))
        .sadd(userKey, hc)
        // The index lives as long as the longest session in it could (absolute lifetime from now).
        .pexpire(userKey, Math.max(ttl(s), s.absoluteSeconds * 1000))
        .exec();
    },
    getCentral: (id) => read<CentralSession>(key.central(h(id)), () => dropCentral(h(id))),
    deleteCentral: (id) => dropCentral(h(id)),
    async putApp(s) {
      const ha = h(s.id);
      const setKey = key.centralApps(h(s.centralId));
      await redis.multi()
        .set(key.app(ha), JSON.stringify(s), 'PX', ttl(s))
        .sadd(setKey, ha)
        .pexpire(setKey, Math.max(ttl(s), s.absoluteSeconds * 1000))
        .exec();
    },
    getApp: (id) => read<AppSession>(key.app(h(id)), async () => { await redis.del(key.app(h(id))); }),
    async deleteApp(id) {
      await redis.del(key.app(h(id)));
    },
    async revokeUser(tenantId, userId) {
      const userKey = key.user(tenantId, userId);
      let n = 0;
      for (const hc of await redis.smembers(userKey)) {
        if (await redis.exists(key.central(hc))) n++;
        await dropCentral(hc);
      }
      await redis.del(userKey);
      return n;
    },
    async listUser(tenantId, userId) {
      const t = now();
      const out: CentralSession[] = [];
      for (const hc of await redis.smembers(key.user(tenantId, userId))) {
        const raw = await redis.get(key.central(hc));
        if (!raw) continue;
        const s = JSON.parse(raw) as CentralSession;
        if (isAlive(s, t)) out.push({ ...s, id: '' });
      }
      return out;
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
