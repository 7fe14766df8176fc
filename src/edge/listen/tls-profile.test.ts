import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEdgeConfig } from '../../config/edge-config.ts';
import { tlsProfileOptions } from './tls-profile.ts';

const base = { stateDir: '/tmp/x', domain: 'apps.example', tls: [{ certFile: 'a', keyFile: 'b' }] };

test('tlsProfile defaults to intermediate and names its choices when wrong', () => {
  assert.equal(parseEdgeConfig(base).tlsProfile, 'intermediate');
  assert.equal(parseEdgeConfig({ ...base, tlsProfile: 'modern' }).tlsProfile, 'modern');
  assert.throws(
    () => parseEdgeConfig({ ...base, tlsProfile: 'old' }),
    /\/tlsProfile: intermediate or modern \(got "old"\)/,
  );
});

test('the profiles: intermediate names only AEAD suites and keeps TLS 1.3; modern is TLS 1.3 only', () => {
  const intermediate = tlsProfileOptions('intermediate');
  assert.equal(intermediate.minVersion, 'TLSv1.2');
  assert.equal(intermediate.maxVersion, 'TLSv1.3');
  for (const suite of String(intermediate.ciphers).split(':'))
    assert.match(suite, /GCM|CHACHA20-POLY1305|CHACHA20_POLY1305/, suite);
  assert.ok(
    String(intermediate.ciphers).includes('TLS_AES_128_GCM_SHA256'),
    'TLS 1.3 suites named, or Node caps the context at TLS 1.2',
  );
  assert.equal(tlsProfileOptions('modern').minVersion, 'TLSv1.3');
});
