import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendPools, CLIENT_SHARE } from './backend-pool.ts';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';

const app = (id: string): ConnectorAppConfig => ({ id, name: id, internalUrl: 'http://127.0.0.1:9/', backendTimeout: 85, tlsVerify: true, backendCa: null });

test('one client holds at most its share of a backend pool; others and released slots are free', async () => {
  const pools = new BackendPools();
  try {
    const held = Array.from({ length: CLIENT_SHARE }, () => pools.claim(app('a'), '203.0.113.7'));
    assert.ok(held.every((release) => release !== null));
    assert.equal(pools.claim(app('a'), '203.0.113.7'), null, 'over its share');
    // Another app on the same origin shares the pool, so the same client is refused there too.
    assert.equal(pools.claim(app('b'), '203.0.113.7'), null);
    assert.notEqual(pools.claim(app('a'), '198.51.100.1'), null, 'another client is not affected');
    held[0]!();
    held[0]!(); // releasing twice frees one slot only
    assert.notEqual(pools.claim(app('a'), '203.0.113.7'), null);
    assert.equal(pools.claim(app('a'), '203.0.113.7'), null);
    assert.notEqual(pools.claim(app('a'), ''), null, 'a request without a client address is not limited');
  } finally {
    await pools.close();
  }
});
