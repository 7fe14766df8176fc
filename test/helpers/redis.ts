import { Redis } from 'ioredis';

/** The Redis the tests share (CI starts it); tests give their keys a prefix of their own and drop them after. */
export const REDIS_URL = process.env.DRAWBRIDGE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Fails with what to do when Redis is not there: the tests that need it never skip. */
export async function requireRedis(url = REDIS_URL): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new Error(
      `Redis is not reachable at ${url} (${(err as Error).message}). These tests need it and never skip: start Redis (CI does) or set DRAWBRIDGE_TEST_REDIS_URL.`,
      { cause: err },
    );
  } finally {
    probe.disconnect();
  }
}

/** Leaves nothing of one test's behind in the shared Redis. */
export async function dropRedisKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
}
