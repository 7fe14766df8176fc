import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendPools, CLIENT_QUEUE, CLIENT_SHARE, CONTENDED } from './backend-pool.ts';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';

const app = (id: string): ConnectorAppConfig => ({
  id,
  name: id,
  internalUrl: 'http://127.0.0.1:9/',
  backendTimeout: 85,
  tlsVerify: true,
  backendCa: null,
});
const claimN = (pools: BackendPools, a: ConnectorAppConfig, client: string, n: number) =>
  Array.from({ length: n }, () => pools.claim(a, client));

test('a client may borrow beyond its share while the pool is lightly used, never more than CONTENDED', async () => {
  const pools = new BackendPools();
  try {
    const held = claimN(pools, app('a'), '203.0.113.7', CONTENDED);
    assert.ok(
      held.every((release) => release !== null),
      'alone on the pool: up to CONTENDED',
    );
    assert.equal(pools.claim(app('a'), '203.0.113.7'), null, 'never beyond CONTENDED');
    // Another app on the same origin shares the pool, so the same client is refused there too.
    assert.equal(pools.claim(app('b'), '203.0.113.7'), null);
    assert.notEqual(pools.claim(app('a'), '198.51.100.1'), null, 'another client still gets its share');
    assert.notEqual(pools.claim(app('a'), ''), null, 'a request without a client address is not limited');
  } finally {
    await pools.close();
  }
});

test('under contention a client holds at most its share; released slots are free again', async () => {
  const pools = new BackendPools();
  try {
    // Others keep the pool contended.
    const others = [
      ...claimN(pools, app('a'), '198.51.100.1', CLIENT_SHARE),
      ...claimN(pools, app('a'), '198.51.100.2', CLIENT_SHARE),
    ];
    assert.ok(others.every((r) => r !== null));
    const held = claimN(pools, app('a'), '203.0.113.7', CLIENT_SHARE);
    assert.ok(
      held.every((r) => r !== null),
      'its share is always there',
    );
    assert.equal(pools.claim(app('a'), '203.0.113.7'), null, 'over its share while the pool is contended');
    held[0]!();
    held[0]!(); // releasing twice frees one slot only
    assert.notEqual(pools.claim(app('a'), '203.0.113.7'), null);
    assert.equal(pools.claim(app('a'), '203.0.113.7'), null);
    for (const r of others) r!();
    assert.notEqual(pools.claim(app('a'), '203.0.113.7'), null, 'no longer contended: it may borrow again');
  } finally {
    await pools.close();
  }
});

test("over its share a request waits for one of its client's own slots, in order; too many waiting are refused", async () => {
  const pools = new BackendPools();
  try {
    const a = app('a');
    const held = claimN(pools, a, '203.0.113.7', CONTENDED);
    assert.equal(pools.claim(a, '203.0.113.7'), null);
    const gone = new AbortController();
    const first = pools.wait(a, '203.0.113.7', gone.signal);
    const second = pools.wait(a, '203.0.113.7', gone.signal);
    let started = 0;
    void first.then((r) => {
      if (r) started++;
    });
    void second.then((r) => {
      if (r) started++;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(started, 0, 'no slot free yet');
    held[0]!();
    await new Promise((r) => setImmediate(r));
    assert.equal(started, 1, 'one slot freed, the oldest waiter starts');
    assert.notEqual(await first, null);
    const full = await Promise.all(
      Array.from({ length: CLIENT_QUEUE }, () => pools.wait(a, '203.0.113.7', gone.signal)).slice(-1),
    );
    assert.equal(full[0], null, 'the queue holds CLIENT_QUEUE waiting requests of one client');
    gone.abort();
    assert.equal(await second, null, 'a waiter whose stream closed gives up');
  } finally {
    await pools.close();
  }
});
