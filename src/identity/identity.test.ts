import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSecret as otplibSecret, generateSync } from 'otplib';
import { afterFailure, afterSuccess, DEFAULT_LOCKOUT, isLocked, lockRemaining } from './lockout.ts';
import { hashPassword, needsRehash, verifyPassword } from './password.ts';
import { createRateLimiter } from './rate-limit.ts';
import { generateRecoveryCodes, hashRecoveryCode, looksLikeRecoveryCode } from './recovery-codes.ts';
import { base32Decode, base32Encode, generateTotpSecret, otpauthUri, totp, verifyTotp } from './totp.ts';
import { keyRingFrom, open, seal, sign, unsign } from './keys.ts';

describe('password', () => {
  it('hashes with argon2id and verifies', async () => {
    const hash = await hashPassword('correct horse');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('correct hors', hash), false);
    assert.equal(needsRehash(hash), false);
  });
  it('spends the work and refuses when there is no stored hash', async () => {
    assert.equal(await verifyPassword('anything', null), false);
  });
  it('refuses malformed hashes and over-long passwords', async () => {
    assert.equal(await verifyPassword('x', '$2b$10$notargon'), false);
    assert.equal(await verifyPassword('x'.repeat(2000), await hashPassword('x')), false);
  });
  it('asks for a rehash of weaker parameters', async () => {
    assert.equal(needsRehash(await hashPassword('p', { m: 1024, t: 1, p: 1 })), true);
  });
});

describe('totp', () => {
  const rfcSecret = base32Encode(Buffer.from('12345678901234567890'));
  it('matches the RFC 6238 SHA-1 vectors (6 digits)', () => {
    for (const [t, code] of [
      [59, '287082'],
      [1111111109, '081804'],
      [1111111111, '050471'],
      [1234567890, '005924'],
      [2000000000, '279037'],
    ] as const) {
      assert.equal(totp(rfcSecret, t * 1000), code);
    }
  });
  it('agrees with otplib', () => {
    const secret = otplibSecret();
    const now = Date.now();
    assert.equal(totp(secret, now), generateSync({ secret, epoch: Math.floor(now / 1000) }));
  });
  it('accepts ±1 step, refuses replays and junk', () => {
    const secret = generateTotpSecret();
    const now = 1_700_000_000_000;
    const step = verifyTotp(secret, totp(secret, now - 30_000), now, null);
    assert.equal(step, Math.floor(now / 30000) - 1);
    assert.equal(verifyTotp(secret, totp(secret, now), now, Math.floor(now / 30000)), null, 'same step twice');
    assert.equal(verifyTotp(secret, totp(secret, now - 90_000), now, null), null, 'too old');
    assert.equal(verifyTotp(secret, 'abcdef', now, null), null);
    assert.equal(verifyTotp(secret, '12345', now, null), null);
  });
  it('round-trips base32 and builds an otpauth URI', () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 7, 9]);
    assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
    assert.match(
      otpauthUri('JBSWY3DPEHPK3PXP', 'dave@contoso.example', 'Drawbridge'),
      /^otpauth:\/\/totp\/Drawbridge%3Adave%40contoso\.example\?secret=JBSWY3DPEHPK3PXP&issuer=Drawbridge/,
    );
  });
});

describe('recovery codes', () => {
  it('are unique, normalised when hashed, and recognisable', () => {
    const codes = generateRecoveryCodes();
    assert.equal(new Set(codes).size, 10);
    assert.ok(codes.every(looksLikeRecoveryCode));
    assert.equal(hashRecoveryCode(codes[0]), hashRecoveryCode(` ${codes[0].toUpperCase().replace('-', '')} `));
  });
});

describe('lockout', () => {
  const t0 = new Date('2025-01-01T00:00:00Z');
  it('locks after the threshold for a fixed period; success resets', () => {
    let s = afterSuccess();
    for (let i = 1; i < DEFAULT_LOCKOUT.threshold; i++) {
      s = afterFailure(s, t0);
      assert.equal(isLocked(s, t0), false, `failure ${i}`);
    }
    s = afterFailure(s, t0);
    assert.equal(isLocked(s, t0), true);
    assert.equal(lockRemaining(s, t0), 60);
    assert.deepEqual(afterSuccess(), { failedCount: 0, lockedUntil: null });
  });
  it('attempts during a lock do not lengthen it, and one failure after it does not lock again', () => {
    let s = afterSuccess();
    for (let i = 0; i < DEFAULT_LOCKOUT.threshold; i++) s = afterFailure(s, t0);
    const t30 = new Date(t0.getTime() + 30_000);
    for (let i = 0; i < 20; i++) s = afterFailure(s, t30);
    assert.equal(lockRemaining(s, t30), 30);
    // After the lock, the count starts again: one wrong password no longer locks for longer (issue 9).
    const t61 = new Date(t0.getTime() + 61_000);
    for (let i = 1; i < DEFAULT_LOCKOUT.threshold; i++) {
      s = afterFailure(s, t61);
      assert.equal(isLocked(s, t61), false, `failure ${i} after the lock`);
    }
    s = afterFailure(s, t61);
    assert.equal(lockRemaining(s, t61), 60);
  });
});

describe('rate limit', () => {
  it('allows the limit per window, then says when to retry', async () => {
    let now = 0;
    const limiter = createRateLimiter({ limit: 3, windowSeconds: 60, now: () => now });
    for (let i = 0; i < 3; i++) assert.equal((await limiter.hit('ip')).allowed, true);
    const refused = await limiter.hit('ip');
    assert.equal(refused.allowed, false);
    assert.equal(refused.retryAfter, 60);
    assert.equal((await limiter.hit('other')).allowed, true);
    now = 60_000;
    assert.equal((await limiter.hit('ip')).allowed, true);
  });
  it('bounds memory', async () => {
    const limiter = createRateLimiter({ limit: 1, windowSeconds: 60, maxKeys: 10 });
    for (let i = 0; i < 1000; i++) await limiter.hit(`k${i}`);
    assert.equal((await limiter.hit('k999')).allowed, false);
  });
});

describe('keys', () => {
  const ring = keyRingFrom(Buffer.alloc(32, 7));
  it('derives a distinct key per purpose', () => {
    assert.notDeepEqual(ring.key('cookie'), ring.key('state'));
  });
  it('seals with AES-GCM bound to its row', () => {
    const sealed = seal(ring.key('totp'), 'JBSWY3DPEHPK3PXP', 'totp:t:u');
    assert.equal(open(ring.key('totp'), sealed, 'totp:t:u'), 'JBSWY3DPEHPK3PXP');
    assert.throws(() => open(ring.key('totp'), sealed, 'totp:t:other'));
    assert.ok(!sealed.includes('JBSWY3DP'));
  });
  it('signs and refuses tampering', () => {
    const signed = sign(ring.key('cookie'), 'session-id');
    assert.equal(unsign(ring.key('cookie'), signed), 'session-id');
    assert.equal(unsign(ring.key('cookie'), signed.replace('session-id', 'session-ie')), null);
    assert.equal(unsign(ring.key('state'), signed), null);
    assert.equal(unsign(ring.key('cookie'), 'nodot'), null);
  });
});
