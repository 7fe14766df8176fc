import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseEdgeConfig } from './edge-config.ts';

const base = { stateDir: '/tmp/x', domain: 'apps.example', tls: [{ certFile: 'a', keyFile: 'b' }] };

describe('edge configuration: sessions', () => {
  it('defaults to memory and takes redis with a URL', () => {
    assert.deepEqual(parseEdgeConfig(base).sessions, { kind: 'memory' });
    assert.deepEqual(
      parseEdgeConfig({ ...base, sessions: { kind: 'redis', url: 'redis://10.0.0.5:6379', keyPrefix: 'edge-eu:' } })
        .sessions,
      { kind: 'redis', url: 'redis://10.0.0.5:6379', keyPrefix: 'edge-eu:' },
    );
  });
  it('names the field to fix', () => {
    assert.throws(
      () => parseEdgeConfig({ ...base, sessions: { kind: 'memcached' } }),
      /\/sessions\/kind: memory or redis \(got "memcached"\)/,
    );
    assert.throws(
      () => parseEdgeConfig({ ...base, sessions: { kind: 'redis' } }),
      /\/sessions\/url: redis needs url: redis:\/\/host:6379/,
    );
    assert.throws(() => parseEdgeConfig({ ...base, sessions: { kind: 'redis', url: 'http://x' } }), /\/sessions\/url/);
  });
});

describe('edge configuration: listen.trustedProxies', () => {
  it('defaults to none and takes addresses and CIDR ranges', () => {
    assert.deepEqual(parseEdgeConfig(base).listen.trustedProxies, []);
    assert.deepEqual(
      parseEdgeConfig({ ...base, listen: { trustedProxies: ['10.0.0.5', '10.0.1.0/24', '2001:db8::/64'] } }).listen
        .trustedProxies,
      ['10.0.0.5', '10.0.1.0/24', '2001:db8::/64'],
    );
  });
  it('names an entry that is neither', () => {
    assert.throws(
      () => parseEdgeConfig({ ...base, listen: { trustedProxies: ['10.0.0.0/33'] } }),
      /\/listen\/trustedProxies: "10.0.0.0\/33" is not an address or CIDR range/,
    );
    assert.throws(
      () => parseEdgeConfig({ ...base, listen: { trustedProxies: ['haproxy.internal'] } }),
      /listen\/trustedProxies/,
    );
  });
});
