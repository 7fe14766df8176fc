/**
 * The session store contract against the memory store and against a real Redis (127.0.0.1:6379, or
 * DRAWBRIDGE_TEST_REDIS_URL). Like the PostgreSQL store tests, an unreachable Redis fails these tests: they never skip.
 */
import { describe, before, after, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemorySessionStore, recordKey, type SessionsEnded } from './sessions.ts';
import { createRedisSessionStore } from './redis-sessions.ts';
import { sessionStoreContract } from './session-store.contract.ts';
import { REDIS_URL, requireRedis, dropRedisKeys } from '../../../test/helpers/redis.ts';

const unique = () => randomBytes(8).toString('hex');

describe('session store contract: memory', () => {
  sessionStoreContract((now) => createMemorySessionStore({ now }), unique);
});

describe('session store contract: redis', () => {
  const prefix = `drawbridge-test-${unique()}:`;
  before(async () => {
    await requireRedis();
  });
  after(async () => {
    await dropRedisKeys(prefix);
  });
  sessionStoreContract((now) => createRedisSessionStore({ url: REDIS_URL, keyPrefix: prefix, now }), unique);

  it("another node sharing the Redis hears a sign-out and its app sessions' reason", async () => {
    const one = createRedisSessionStore({ url: REDIS_URL, keyPrefix: prefix });
    const two = createRedisSessionStore({ url: REDIS_URL, keyPrefix: prefix });
    const heard: SessionsEnded[] = [];
    two.onEnded((e) => heard.push(e));
    try {
      await new Promise((r) => setTimeout(r, 100));
      const t = Date.now();
      const c = {
        id: unique(),
        tenantId: 't',
        userId: unique(),
        authMethods: ['password' as const],
        stage: 'done' as const,
        persistent: false,
        createdAt: t,
        lastSeenAt: t,
        idleSeconds: 60,
        absoluteSeconds: 120,
        mfaFailures: 0,
      };
      const a = {
        id: unique(),
        centralId: c.id,
        tenantId: 't',
        appId: 'app',
        userId: c.userId,
        identity: {
          userId: c.userId,
          tenantId: 't',
          upn: 'u',
          displayName: 'U',
          email: null,
          onPremName: null,
          groups: [],
          authMethods: ['password' as const],
        },
        persistent: false,
        createdAt: t,
        lastSeenAt: t,
        checkedAt: t,
        idleSeconds: 60,
        absoluteSeconds: 120,
      };
      await one.putCentral(c);
      await one.putApp(a);
      await one.deleteCentral(c.id, 'DB-SESSION-SIGNED-OUT');
      for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(heard, [
        { tenantId: 't', userId: c.userId, centralKey: recordKey(c.id), reason: 'DB-SESSION-SIGNED-OUT' },
      ]);
      assert.equal(await two.endReason(a.id), 'DB-SESSION-SIGNED-OUT');
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
