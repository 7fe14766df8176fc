import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { App } from '../../store/types.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import { openStore } from '../../store/open.ts';
import {
  createAssertionMinter,
  jwksDocument,
  loadOrCreateSigningKeys,
  newPrivateJwk,
  signingKeyFrom,
} from './assertion.ts';

const app = {
  id: 'app_1',
  externalUrl: 'https://hr-contoso.apps.example',
  updatedAt: 't',
  sso: { mode: 'headers', headers: {}, jwt: true },
} as unknown as App;
const alice: Identity = {
  userId: 'usr_1',
  tenantId: 'tnt_1',
  upn: 'alice@contoso.example',
  displayName: 'Alice',
  email: 'alice@contoso.example',
  onPremName: null,
  groups: ['HR'],
  authMethods: ['password', 'totp'],
};

describe('edge SSO assertions', () => {
  it('signs ES256 JWTs that verify against the published JWKS, reused for 30 s, the key kept by the store', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-assert-'));
    try {
      const store = await openStore({ kind: 'sqlite', stateDir: dir });
      const { active: key, published } = await loadOrCreateSigningKeys(store, dir);
      assert.deepEqual(
        published.map((k) => k.kid),
        [key.kid],
      );
      await store.close();
      const reopened = await openStore({ kind: 'sqlite', stateDir: dir });
      assert.equal((await loadOrCreateSigningKeys(reopened, dir)).active.kid, key.kid, 'same key on restart');
      await reopened.close();
      let now = Date.now();
      const mint = createAssertionMinter(
        key,
        () => 'https://login.apps.example',
        () => now,
      );
      const token = mint(app, alice)!;
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(JSON.parse(jwksDocument([key]))), {
        issuer: 'https://login.apps.example',
        audience: app.externalUrl,
        algorithms: ['ES256'],
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

  it('imports the key file of earlier versions into an empty store once, so the published kid stays', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-assert-'));
    try {
      const former = newPrivateJwk();
      await writeFile(
        path.join(dir, 'sso-signing-key.json'),
        JSON.stringify({ created: new Date().toISOString(), privateJwk: former }),
        { mode: 0o600 },
      );
      const store = await openStore({ kind: 'sqlite', stateDir: dir });
      try {
        const keys = await loadOrCreateSigningKeys(store, dir);
        assert.equal(keys.active.kid, signingKeyFrom(former).kid);
        const otherDir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-assert-'));
        await writeFile(path.join(otherDir, 'sso-signing-key.json'), JSON.stringify({ privateJwk: newPrivateJwk() }), {
          mode: 0o600,
        });
        assert.equal(
          (await loadOrCreateSigningKeys(store, otherDir)).active.kid,
          keys.active.kid,
          "the store's key wins once it has one",
        );
        await rm(otherDir, { recursive: true, force: true });
      } finally {
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('publishes every stored key: after a rotation the new key signs and tokens of the old one still verify', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-assert-'));
    const store = await openStore({ kind: 'sqlite', stateDir: dir });
    try {
      const before = await loadOrCreateSigningKeys(store, dir);
      const oldToken = createAssertionMinter(before.active, () => 'https://login.apps.example')(app, alice)!;
      const next = newPrivateJwk();
      await store.edgeKeys.rotateSigningKey({ kid: signingKeyFrom(next).kid, privateJwk: JSON.stringify(next) });
      const after = await loadOrCreateSigningKeys(store, dir);
      assert.equal(after.active.kid, signingKeyFrom(next).kid);
      assert.deepEqual(after.published.map((k) => k.kid).sort(), [before.active.kid, after.active.kid].sort());
      const jwks = createLocalJWKSet(JSON.parse(jwksDocument(after.published)));
      const newToken = createAssertionMinter(after.active, () => 'https://login.apps.example')(app, alice)!;
      for (const [token, kid] of [
        [oldToken, before.active.kid],
        [newToken, after.active.kid],
      ]) {
        const { protectedHeader } = await jwtVerify(token, jwks, {
          issuer: 'https://login.apps.example',
          audience: app.externalUrl,
          algorithms: ['ES256'],
        });
        assert.equal(protectedHeader.kid, kid);
      }
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
