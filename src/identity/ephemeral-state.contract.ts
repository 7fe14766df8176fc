/**
 * What every EphemeralState must do, run against each implementation (ephemeral-state.test.ts): memory for one
 * edge node, Redis for a cluster. `make` returns the state and a way to let time pass (the memory state's clock is
 * the test's; Redis keeps real time, so there it waits). Presence is only asserted with long lifetimes and expiry
 * only after waiting past short ones, so a slow machine cannot fail the suite.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { EphemeralState } from './ephemeral-state.ts';

export interface EphemeralUnderTest {
  /** A state; a second call gives another client of the same backing store (another edge node). */
  state(): EphemeralState;
  /** Lets `ms` pass for the states made. */
  advance(ms: number): Promise<void>;
}

export function ephemeralStateContract(make: () => EphemeralUnderTest, unique: () => string): void {
  async function withStates(
    fn: (a: EphemeralState, b: EphemeralState, advance: (ms: number) => Promise<void>) => Promise<void>,
  ): Promise<void> {
    const t = make();
    const a = t.state();
    const b = t.state();
    try {
      await fn(a, b, (ms) => t.advance(ms));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  }

  it('set/get round-trips JSON values, readers get copies, and a second node reads what the first wrote', async () => {
    await withStates(async (a, b) => {
      const key = unique();
      const value = { code: 'x', nested: { n: 1, list: [1, 2] } };
      await a.set(key, value, 60_000);
      const read = await b.get<typeof value>(key);
      assert.deepEqual(read, value);
      read!.nested.list.push(3);
      assert.deepEqual(await a.get(key), value, 'edits of a read copy never reach the store');
      await b.set(key, 'replaced', 60_000);
      assert.equal(await a.get(key), 'replaced');
      assert.equal(await a.get(unique()), null);
      await a.delete(key, unique());
      assert.equal(await b.get(key), null);
    });
  });

  it('a value is gone once its lifetime has passed', async () => {
    await withStates(async (a, b, advance) => {
      const key = unique();
      const kept = unique();
      await a.set(key, 1, 150);
      await a.set(kept, 2, 60_000);
      await advance(400);
      assert.equal(await b.get(key), null);
      assert.equal(await b.take(key), null);
      assert.equal(await b.get(kept), 2);
    });
  });

  it('take works once, even when two nodes take the same key at once', async () => {
    await withStates(async (a, b) => {
      const key = unique();
      await a.set(key, { tenantId: 't' }, 60_000);
      assert.deepEqual(await b.take(key), { tenantId: 't' });
      assert.equal(await a.take(key), null);
      for (let i = 0; i < 20; i++) {
        const raced = unique();
        await a.set(raced, i, 60_000);
        const got = await Promise.all([a.take(raced), b.take(raced), a.take(raced), b.take(raced)]);
        assert.deepEqual(
          got.filter((g) => g !== null),
          [i],
          `round ${i}: exactly one taker`,
        );
      }
    });
  });

  it('hit counts across nodes within a fixed window, atomically, and starts again after it', async () => {
    await withStates(async (a, b, advance) => {
      const key = unique();
      const first = await a.hit(key, 60_000);
      assert.equal(first.count, 1);
      assert.ok(first.resetMs > 0 && first.resetMs <= 60_000, `resetMs ${first.resetMs}`);
      assert.equal((await b.hit(key, 60_000)).count, 2);
      const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).hit(key, 60_000)));
      assert.deepEqual(
        burst.map((w) => w.count).sort((x, y) => x - y),
        Array.from({ length: 40 }, (_, i) => i + 3),
        'no hit lost or counted twice',
      );
      assert.ok(
        burst.every((w) => w.resetMs <= first.resetMs),
        'later hits do not lengthen the window',
      );
      assert.equal((await a.hit(unique(), 60_000)).count, 1, 'keys count apart');

      const short = unique();
      assert.equal((await a.hit(short, 150)).count, 1);
      await b.hit(short, 150);
      await advance(400);
      assert.equal((await b.hit(short, 60_000)).count, 1, 'a new window once the old one has passed');
      await a.delete(key);
      assert.equal((await b.hit(key, 60_000)).count, 1, 'delete resets a counter');
    });
  });
}
