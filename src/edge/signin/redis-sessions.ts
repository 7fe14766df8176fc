/**
 * Sessions in Redis: they survive an edge restart, and every edge node of a cluster sees the same ones (a sign-out
 * or an admin revocation on one node ends the session on all). Same contract as the memory store
 * (session-store.contract.ts); records are JSON under the SHA-256 of their id, with a Redis expiry at the
 * session's own end (idle or absolute), refreshed on each write. Expiry is also checked on read against the
 * store's clock, so a record never outlives its session by the width of a clock tick.
 *
 * Keys (`<prefix>` defaults to `drawbridge:`): `central:<h>`, `app:<h>`, `central-apps:<h>` (the app sessions a
 * central one opened), `user:<tenant>:<user>` (a user's central sessions, for revocation), `ended:<h>` (why an app
 * session was ended on purpose, until it would have expired). Sessions ended on purpose are announced on the
 * pub/sub channel `<prefix>sessions-ended`, which every node subscribes to (continuous access evaluation).
 * One-time codes and flow records are ephemeral state (identity/redis-ephemeral-state.ts, `eph:` keys).
 */
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import {
  expiresAt,
  isAlive,
  recordKey as h,
  type AppSession,
  type CentralSession,
  type SessionEndReason,
  type SessionsEnded,
  type SessionStore,
} from './sessions.ts';

const REASONS: readonly string[] = ['DB-SESSION-REVOKED', 'DB-SESSION-SIGNED-OUT'] satisfies SessionEndReason[];

/** A message from the channel, checked field by field (anyone who can reach Redis can PUBLISH). */
function parseEnded(message: string): SessionsEnded | null {
  try {
    const v = JSON.parse(message) as Record<string, unknown>;
    if (typeof v.tenantId !== 'string' || typeof v.userId !== 'string' || !REASONS.includes(v.reason as string))
      return null;
    if (v.centralKey !== null && typeof v.centralKey !== 'string') return null;
    return {
      tenantId: v.tenantId,
      userId: v.userId,
      centralKey: v.centralKey as string | null,
      reason: v.reason as SessionEndReason,
    };
  } catch {
    return null;
  }
}

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
  redis.on('error', () => {
    /* reported by the failing command; ioredis reconnects by itself */
  });
  const key = {
    central: (hc: string) => `${prefix}central:${hc}`,
    app: (ha: string) => `${prefix}app:${ha}`,
    centralApps: (hc: string) => `${prefix}central-apps:${hc}`,
    user: (tenantId: string, userId: string) => `${prefix}user:${tenantId}:${userId}`,
    ended: (ha: string) => `${prefix}ended:${ha}`,
  };
  const channel = `${prefix}sessions-ended`;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  /** The subscribing connection (a connection in subscriber mode runs nothing else), opened on the first listener. */
  let subscriber: Redis | null = null;
  function subscribe(): void {
    if (subscriber) return;
    subscriber = redis.duplicate();
    subscriber.on('error', () => {
      /* ioredis reconnects and resubscribes by itself */
    });
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const event = parseEnded(message);
      if (!event) return;
      for (const listener of events.listeners('ended') as ((e: SessionsEnded) => void)[]) {
        try {
          listener(event);
        } catch {
          /* a listener's bug never stops the others */
        }
      }
    });
    void subscriber.subscribe(channel).catch(() => {});
  }
  const announce = async (event: SessionsEnded) => {
    await redis.publish(channel, JSON.stringify(event));
  };
  /** Milliseconds until the session ends, at least 1 (Redis refuses 0) — the key goes when the session does. */
  const ttl = (s: CentralSession | AppSession): number => Math.max(1, expiresAt(s) - now());

  /** Ends a central session and its app sessions; with a reason, each app session that still lived remembers it. */
  async function dropCentral(hc: string, reason?: SessionEndReason): Promise<CentralSession | null> {
    const raw = await redis.get(key.central(hc));
    const apps = await redis.smembers(key.centralApps(hc));
    const s = raw ? (JSON.parse(raw) as CentralSession) : null;
    const tx = redis.multi();
    if (reason && s) {
      // The reason lives as long as the central session could have (an app session never outlives it).
      const until = Math.max(1, expiresAt(s) - now());
      for (const ha of apps) tx.set(key.ended(ha), reason, 'PX', until);
    }
    tx.del(key.central(hc), key.centralApps(hc), ...apps.map(key.app));
    if (s) tx.srem(key.user(s.tenantId, s.userId), hc);
    await tx.exec();
    return s;
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
      await redis
        .multi()
        .set(key.central(hc), JSON.stringify(s), 'PX', ttl(s))
        .sadd(userKey, hc)
        // The index lives as long as the longest session in it could (absolute lifetime from now).
        .pexpire(userKey, Math.max(ttl(s), s.absoluteSeconds * 1000))
        .exec();
    },
    getCentral: (id) =>
      read<CentralSession>(key.central(h(id)), async () => {
        await dropCentral(h(id));
      }),
    async deleteCentral(id, reason) {
      const s = await dropCentral(h(id), reason);
      if (reason && s) await announce({ tenantId: s.tenantId, userId: s.userId, centralKey: h(id), reason });
    },
    async putApp(s) {
      const ha = h(s.id);
      const setKey = key.centralApps(h(s.centralId));
      await redis
        .multi()
        .set(key.app(ha), JSON.stringify(s), 'PX', ttl(s))
        .sadd(setKey, ha)
        .pexpire(setKey, Math.max(ttl(s), s.absoluteSeconds * 1000))
        .exec();
    },
    getApp: (id) =>
      read<AppSession>(key.app(h(id)), async () => {
        await redis.del(key.app(h(id)));
      }),
    async endReason(id) {
      const reason = await redis.get(key.ended(h(id)));
      return reason && REASONS.includes(reason) ? (reason as SessionEndReason) : null;
    },
    onEnded(listener) {
      subscribe();
      events.on('ended', listener);
      return () => void events.off('ended', listener);
    },
    async deleteApp(id) {
      await redis.del(key.app(h(id)));
    },
    async revokeUser(tenantId, userId, reason = 'DB-SESSION-REVOKED') {
      const userKey = key.user(tenantId, userId);
      let n = 0;
      for (const hc of await redis.smembers(userKey)) {
        if (await dropCentral(hc, reason)) n++;
      }
      await redis.del(userKey);
      await announce({ tenantId, userId, centralKey: null, reason });
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
      events.removeAllListeners();
      const sub = subscriber;
      subscriber = null;
      await Promise.all([redis.quit().catch(() => redis.disconnect()), sub?.quit().catch(() => sub.disconnect())]);
    },
  };
}
