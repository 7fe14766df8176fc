import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keyRingFrom } from '../../identity/keys.ts';
import { parseCookies, serializeCookie, stripOurCookies } from './cookies.ts';
import { safeReturnPath } from './return-url.ts';
import { decodeState, encodeState } from './state.ts';

describe('return URLs', () => {
  it('keeps paths on the app origin', () => {
    assert.equal(safeReturnPath('/pay?month=3'), '/pay?month=3');
    assert.equal(safeReturnPath('/a/../b'), '/b');
  });
  it('refuses anything that could leave the origin', () => {
    for (const bad of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      '\\\\evil',
      'javascript:alert(1)',
      '/x\r\nLocation: y',
      '',
      null,
      undefined,
      `/${'a'.repeat(3000)}`,
      '/.drawbridge/auth/callback',
    ]) {
      assert.equal(safeReturnPath(bad), '/', String(bad));
    }
  });
});

describe('sign-in state', () => {
  const key = keyRingFrom(Buffer.alloc(32, 1)).key('state');
  const s = { tenantId: 'tnt_1', appId: 'app_1', returnPath: '/pay', nonce: 'nonce' };
  it('round-trips while fresh', () => {
    const text = encodeState(key, s, 1000);
    assert.deepEqual({ ...decodeState(key, text, 2000), expiresAt: 0 }, { ...s, expiresAt: 0 });
  });
  it('refuses expired, tampered, re-signed and garbage states', () => {
    const text = encodeState(key, s, 1000);
    assert.equal(decodeState(key, text, 1000 + 601_000), null);
    const [payload, mac] = text.split('.');
    const forged = Buffer.from(
      JSON.stringify({ t: s.tenantId, a: 'app_2', r: s.returnPath, n: s.nonce, e: 9e15 }),
    ).toString('base64url');
    assert.equal(decodeState(key, `${forged}.${mac}`, 2000), null);
    assert.equal(decodeState(keyRingFrom(Buffer.alloc(32, 2)).key('state'), text, 2000), null);
    assert.equal(decodeState(key, `${payload}x.${mac}`, 2000), null);
    assert.equal(decodeState(key, 'garbage', 2000), null);
  });
  it('sanitises the return path even when signed', () => {
    const text = encodeState(key, { ...s, returnPath: '//evil.example' }, 1000);
    assert.equal(decodeState(key, text, 2000)?.returnPath, '/');
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
