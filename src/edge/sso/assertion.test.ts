import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { App } from '../../store/types.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import { createAssertionMinter, jwksDocument, loadOrCreateSigningKey } from './assertion.ts';

const app = { id: 'app_1', externalUrl: 'https://hr-contoso.apps.example', updatedAt: 't', sso: { mode: 'headers', headers: {}, jwt: true } } as unknown as App;
const alice: Identity = { userId: 'usr_1', tenantId: 'tnt_1', upn: 'alice@contoso.example', displayName: 'Alice', email: 'alice@contoso.example', onPremName: null, groups: ['HR'], authMethods: ['password', 'totp'] };

describe('edge SSO assertions', () => {
  it('signs ES256 JWTs that verify against the published JWKS, reused for 30 s, key kept 0600', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-assert-'));
    try {
      const key = await loadOrCreateSigningKey(dir);
      assert.equal((await stat(path.join(dir, 'sso-signing-key.json'))).mode & 0o777, 0o600);
      assert.equal((await loadOrCreateSigningKey(dir)).kid, key.kid, 'same key on restart');
      let now = Date.now();
      const mint = createAssertionMinter(key, () => 'https://login.apps.example', () => now);
      const token = mint(app, alice)!;
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(JSON.parse(jwksDocument([key]))), {
        issuer: 'https://login.apps.example', audience: app.externalUrl, algorithms: ['ES256'],
      });
      assert.equal(protectedHeader.kid, key.kid);
      assert.equal(payload.sub, 'usr_1');
      assert.deepEqual(payload.groups, ['HR']);
      assert.deepEqual(payload.amr, ['password', 'totp']);
      assert.equal((payload.exp as number) - (payload.iat as number), 60);
      assert.equal(mint(app, alice), token);
      now += 31_000;
      assert.notEqual(mint(app, alice), token);
      assert.equal(mint({ ...app, sso: { mode: 'none' } }, alice), null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
