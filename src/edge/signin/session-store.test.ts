/**
 * The session store contract against the memory store and against a real Redis (127.0.0.1:6379, or
 * DRAWBRIDGE_TEST_REDIS_URL). Like the PostgreSQL store tests, an unreachable Redis fails these tests: they never skip.
 */
import { describe, before, after } from 'node:test';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createMemorySessionStore } from './sessions.ts';
import { createRedisSessionStore } from './redis-sessions.ts';
import { sessionStoreContract } from './session-store.contract.ts';

const REDIS_URL = process.env.DRAWBRIDGE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const unique = () => randomBytes(8).toString('hex');

describe('session store contract: memory', () => {
  sessionStoreContract((now) => createMemorySessionStore({ now }), unique);
});

describe('session store contract: redis', () => {
  const prefix = `drawbridge-test-${unique()}:`;
  before(async () => {
    const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await probe.connect();
      await probe.ping();
    } catch (err) {
      throw new Error(`Redis is not reachable at ${REDIS_URL}. These tests need it and never skip: start Redis (CI does) or set DRAWBRIDGE_TEST_REDIS_URL.`, { cause: err });
    } finally {
      probe.disconnect();
    }
  });
  after(async () => {
    // Leave nothing behind in the shared Redis.
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });
  sessionStoreContract((now) => createRedisSessionStore({ url: REDIS_URL, keyPrefix: prefix, now }), unique);
});
