/**
 * The ephemeral state contract against the memory state and against a real Redis (127.0.0.1:6379, or
 * DRAWBRIDGE_TEST_REDIS_URL), under a random key prefix removed at the end. Like the session store tests, an
 * unreachable Redis fails these tests: they never skip.
 */
import { describe, before, after, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createMemoryEphemeralState, type EphemeralState } from './ephemeral-state.ts';
import { createRedisEphemeralState } from './redis-ephemeral-state.ts';
import { ephemeralStateContract } from './ephemeral-state.contract.ts';

const REDIS_URL = process.env.DRAWBRIDGE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const unique = () => randomBytes(8).toString('hex');

describe('ephemeral state contract: memory', () => {
  ephemeralStateContract(() => {
    // Two "nodes" of the memory kind are one process's state: the same instance, closed once.
    let clock = 1_000_000;
    let shared: EphemeralState | null = null;
    let opened = 0;
    return {
      state() {
        shared ??= createMemoryEphemeralState({ now: () => clock });
        opened++;
        const s = shared;
        return {
          ...s,
          close: async () => {
            if (--opened === 0) await s.close();
          },
        };
      },
      async advance(ms) {
        clock += ms;
      },
    };
  }, unique);

  it('bounds memory: the least recently written keys go first', async () => {
    const state = createMemoryEphemeralState({ maxKeys: 10 });
    try {
      for (let i = 0; i < 100; i++) await state.set(`k${i}`, i, 60_000);
      assert.equal(await state.get('k0'), null);
      assert.equal(await state.get('k99'), 99);
    } finally {
      await state.close();
    }
  });
});

describe('ephemeral state contract: redis', () => {
  const prefix = `drawbridge-test-${unique()}:`;
  before(async () => {
    const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await probe.connect();
      await probe.ping();
    } catch (err) {
      throw new Error(
        `Redis is not reachable at ${REDIS_URL}. These tests need it and never skip: start Redis (CI does) or set DRAWBRIDGE_TEST_REDIS_URL.`,
        { cause: err },
      );
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
  ephemeralStateContract(
    () => ({
      state: () => createRedisEphemeralState({ url: REDIS_URL, keyPrefix: prefix }),
      advance: (ms) => sleep(ms),
    }),
    unique,
  );
});
