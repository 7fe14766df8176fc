import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyRingFrom } from '../../identity/keys.ts';
import { parseCookies, serializeCookie, stripOurCookies } from './cookies.ts';
import { safeReturnPath } from './return-url.ts';
import { createMemorySessionStore, type CentralSession } from './sessions.ts';
import { decodeState, encodeState } from './state.ts';

describe('return URLs', () => {
  it('keeps paths on the app origin', () => {
    assert.equal(safeReturnPath('/pay?month=3'), '/pay?month=3');
    assert.equal(safeReturnPath('/a/../b'), '/b');
  });
  it('refuses anything that could leave the origin', () => {
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', '\\\\evil', 'javascript:alert(1)', '/x\r\nLocation: y', '', null, undefined, `/${'a'.repeat(3000)}`, '/.drawbridge/auth/callback']) {
      assert.equal(safeReturnPath(bad), '/', String(bad));
    }
  });
});

describe('sign-in state', () => {
  const key = keyRingFrom(Buffer.alloc(32, 1)).key('state');
  const s = { t: 'tnt_1', a: 'app_1', r: '/pay', n: 'nonce' };
  it('round-trips while fresh', () => {
    const text = encodeState(key, s, 1000);
    assert.deepEqual({ ...decodeState(key, text, 2000), e: 0 }, { ...s, e: 0 });
  });
  it('refuses expired, tampered, re-signed and garbage states', () => {
    const text = encodeState(key, s, 1000);
    assert.equal(decodeState(key, text, 1000 + 601_000), null);
    const [payload, mac] = text.split('.');
    const forged = Buffer.from(JSON.stringify({ ...s, a: 'app_2', e: 9e15 })).toString('base64url');
    assert.equal(decodeState(key, `${forged}.${mac}`, 2000), null);
    assert.equal(decodeState(keyRingFrom(Buffer.alloc(32, 2)).key('state'), text, 2000), null);
    assert.equal(decodeState(key, `${payload}x.${mac}`, 2000), null);
    assert.equal(decodeState(key, 'garbage', 2000), null);
  });
  it('sanitises the return path even when signed', () => {
    const text = encodeState(key, { ...s, r: '//evil.example' }, 1000);
    assert.equal(decodeState(key, text, 2000)?.r, '/');
  });
});

describe('cookies', () => {
  it('sets __Host- cookies HttpOnly, Secure, SameSite=Lax, Path=/', () => {
    assert.equal(serializeCookie('__Host-x', 'v'), '__Host-x=v; Path=/; Secure; HttpOnly; SameSite=Lax');
    assert.match(serializeCookie('__Host-x', 'v', { maxAge: 10 }), /Max-Age=10$/);
  });
  it('parses, first one wins, and strips ours before the backend', () => {
    const jar = parseCookies('a=1; __Host-drawbridge-session=abc; a=2; b=3');
    assert.equal(jar.get('a'), '1');
    assert.equal(stripOurCookies('a=1; __Host-drawbridge-session=abc; b=3'), 'a=1; b=3');
    assert.equal(stripOurCookies('__Host-drawbridge-session=abc'), undefined);
  });
});

describe('memory session store', () => {
  const central = (over: Partial<CentralSession> = {}): CentralSession => ({
    id: 'c1', tenantId: 't', userId: 'u', authMethods: ['password'], stage: 'done', persistent: false,
    createdAt: 0, lastSeenAt: 0, idleSeconds: 60, absoluteSeconds: 120, mfaFailures: 0, ...over,
  });
  it('expires on idle and absolute time; ending the central session ends its app sessions', async () => {
    let now = 0;
    const store = createMemorySessionStore({ now: () => now });
    await store.putCentral(central());
    await store.putApp({ id: 'a1', centralId: 'c1', tenantId: 't', appId: 'app', userId: 'u', identity: { userId: 'u', tenantId: 't', upn: 'u@t', displayName: 'U', email: null, onPremName: null, groups: ['g'], authMethods: ['password'] }, persistent: false, createdAt: 0, lastSeenAt: 0, checkedAt: 0, idleSeconds: 60, absoluteSeconds: 120 });
    const copy = await store.getApp('a1');
    assert.ok(copy);
    copy.identity.groups.push('mutated');
    assert.deepEqual((await store.getApp('a1'))?.identity.groups, ['g'], 'readers get copies: their edits never reach the store');
    await store.deleteCentral('c1');
    assert.equal(await store.getApp('a1'), null);
    await store.putCentral(central({ id: 'c2', lastSeenAt: 50_000 }));
    now = 100_000;
    assert.ok(await store.getCentral('c2'), 'idle from lastSeenAt');
    now = 111_000;
    assert.equal(await store.getCentral('c2'), null, 'idle');
    await store.putCentral(central({ id: 'c3', createdAt: 0, lastSeenAt: 110_000, idleSeconds: 600 }));
    now = 120_001;
    assert.equal(await store.getCentral('c3'), null, 'absolute');
    await store.close();
  });
  it('codes work once; revocation ends every session of a user', async () => {
    const store = createMemorySessionStore();
    await store.putCode('code', { tenantId: 't', appId: 'a', centralId: 'c', userId: 'u', nonce: 'n' }, 60);
    assert.ok(await store.takeCode('code'));
    assert.equal(await store.takeCode('code'), null);
    const t = Date.now();
    await store.putCentral(central({ id: 'x', createdAt: t, lastSeenAt: t }));
    await store.putCentral(central({ id: 'y', createdAt: t, lastSeenAt: t }));
    assert.equal(await store.revokeUser('t', 'u'), 2);
    assert.equal(await store.getCentral('x'), null);
    await store.close();
  });
});
