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
import { REDIS_URL, requireRedis, dropRedisKeys } from '../../test/helpers/redis.ts';

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
    await requireRedis();
  });
  after(async () => {
    await dropRedisKeys(prefix);
  });
  ephemeralStateContract(
    () => ({
      state: () => createRedisEphemeralState({ url: REDIS_URL, keyPrefix: prefix }),
      advance: (ms) => sleep(ms),
    }),
    unique,
  );
});
