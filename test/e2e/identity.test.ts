/** Pre-authentication end to end over real HTTPS: sign-in, hand-off, denials with codes, MFA, sign-out, tampering. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateTotpSecret, totp } from '../../src/identity/totp.ts';
import { decodeIdentity } from '../../src/tunnel/protocol.ts';
import { Client, DOMAIN, formValue, signIn, startHarness, type Harness } from './identity-harness.ts';

let h: Harness;
const pw = (name: string) => h.users.find((u) => u.username === name)!.password;
const hrUrl = (path = '/pay?month=3') => `${h.hr.externalUrl}${path}`;

before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

describe('identity: password sign-in and hand-off', () => {
  it('alice signs in, lands back on /pay with a host-only cookie, and the backend gets her identity', async () => {
    const c = new Client(h.port);
    const first = await c.request(hrUrl());
    assert.equal(first.status, 302);
    assert.ok(first.location!.startsWith(`${h.loginUrl}/authorize?state=`));
    assert.match(
      String(first.headers['set-cookie']),
      /__Host-drawbridge-auth=.*; Path=\/; Secure; HttpOnly; SameSite=Lax/,
    );
    const res = await signIn(c, hrUrl(), 'alice', pw('alice'));
    assert.equal(res.status, 200);
    assert.equal(res.url, hrUrl());
    assert.match(res.body, /Hello, Alice Archer/);
    const identity = decodeIdentity(h.lastBackend!.identity!);
    assert.equal(identity.upn, 'alice@contoso.example');
    assert.equal(identity.onPremName, 'ALICE');
    assert.deepEqual(identity.groups, ['HR']);
    assert.deepEqual(identity.authMethods, ['password']);
    assert.equal(h.lastBackend!.cookie, undefined, 'Drawbridge cookies never reach the backend');
    assert.ok(c.cookies(h.hr.externalHost).has('__Host-drawbridge-session'));
    // One sign-in serves every app: wiki needs no password.
    const wiki = await c.follow(`${h.wiki.externalUrl}/`);
    assert.equal(wiki.status, 200);
    assert.match(wiki.body, /wiki · internal app/);
  });

  it('bob gets DB-ACCESS-NO-LICENCE and carol DB-ACCESS-NOT-ASSIGNED, each with its own page', async () => {
    const bob = await signIn(new Client(h.port), hrUrl(), 'bob', pw('bob'));
    assert.equal(bob.status, 403);
    assert.match(bob.body, /DB-ACCESS-NO-LICENCE/);
    assert.match(bob.body, /Basic or Premium licence/);
    assert.match(bob.body, /bob@contoso\.example/);
    const carol = await signIn(new Client(h.port), hrUrl(), 'carol', pw('carol'));
    assert.equal(carol.status, 403);
    assert.match(carol.body, /DB-ACCESS-NOT-ASSIGNED/);
    assert.match(carol.body, /nobody has assigned this application to you/);
  });

  it('a disabled account is told so only after the right password', async () => {
    const erin = await h.directory.users.create(h.tenant.id, {
      upn: 'erin@contoso.example',
      password: 'erin-Password-1',
      enabled: false,
    });
    const wrong = await signIn(new Client(h.port), hrUrl(), 'erin', 'nope');
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /DB-SIGNIN-BAD-CREDENTIALS/);
    const right = await signIn(new Client(h.port), hrUrl(), 'erin', 'erin-Password-1');
    assert.equal(right.status, 403);
    assert.match(right.body, /DB-ACCESS-ACCOUNT-DISABLED/);
    await h.directory.users.delete(h.tenant.id, erin.id);
  });

  it('dave must pass TOTP; a wrong code and a replayed code are refused', async () => {
    const c = new Client(h.port);
    const secret = h.users.find((u) => u.username === 'dave')!.totpSecret!;
    const mfa = await signIn(c, hrUrl(), 'dave', pw('dave'));
    assert.equal(mfa.status, 200, mfa.body);
    assert.match(mfa.url, /\/mfa\?state=/);
    assert.match(mfa.body, /Enter your verification code/);
    // Not signed in yet: the app still sends the browser to sign-in.
    assert.equal((await c.request(hrUrl())).status, 302);
    const form = { csrf: formValue(mfa.body, 'csrf'), state: formValue(mfa.body, 'state') };
    const bad = await c.follow(`${h.loginUrl}/mfa`, { form: { ...form, code: totp(secret, Date.now() + 5 * 60_000) } });
    assert.equal(bad.status, 401);
    assert.match(bad.body, /DB-SIGNIN-MFA-FAILED/);
    const code = totp(secret);
    const ok = await c.follow(`${h.loginUrl}/mfa`, { form: { ...form, code } });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /Hello, Dave Dalton/);
    assert.deepEqual(decodeIdentity(h.lastBackend!.identity!).authMethods, ['password', 'totp']);
    // The same code again, in another browser: refused.
    const c2 = new Client(h.port);
    const mfa2 = await signIn(c2, hrUrl(), 'dave', pw('dave'));
    const replay = await c2.follow(`${h.loginUrl}/mfa`, {
      form: { csrf: formValue(mfa2.body, 'csrf'), state: formValue(mfa2.body, 'state'), code },
    });
    assert.equal(replay.status, 401);
  });
});

describe('identity: sessions and tampering', () => {
  it('a stolen app cookie does not open another app', async () => {
    const c = new Client(h.port);
    await signIn(c, hrUrl(), 'alice', pw('alice'));
    const stolen = c.cookies(h.hr.externalHost).get('__Host-drawbridge-session')!;
    const thief = new Client(h.port);
    thief.cookies(h.wiki.externalHost).set('__Host-drawbridge-session', stolen);
    const res = await thief.request(`${h.wiki.externalUrl}/`);
    assert.equal(res.status, 302);
    assert.ok(res.location!.startsWith(`${h.loginUrl}/authorize`));
  });

  it('sign-out ends the central session and every app session', async () => {
    const c = new Client(h.port);
    await signIn(c, hrUrl(), 'alice', pw('alice'));
    assert.equal((await c.follow(`${h.wiki.externalUrl}/`)).status, 200);
    const hrCookie = c.cookies(h.hr.externalHost).get('__Host-drawbridge-session')!;
    const wikiCookie = c.cookies(h.wiki.externalHost).get('__Host-drawbridge-session')!;
    const confirm = await c.follow(`${h.hr.externalUrl}/.drawbridge/auth/signout`);
    assert.match(confirm.body, /Sign out of all applications/);
    const out = await c.follow(`${h.loginUrl}/signout`, { form: { csrf: formValue(confirm.body, 'csrf') } });
    assert.match(out.body, /You are signed out/);
    // Even replaying the old cookies by hand: the store is authoritative.
    const replay = new Client(h.port);
    replay.cookies(h.hr.externalHost).set('__Host-drawbridge-session', hrCookie);
    replay.cookies(h.wiki.externalHost).set('__Host-drawbridge-session', wikiCookie);
    assert.equal((await replay.request(hrUrl())).status, 302);
    assert.equal((await replay.request(`${h.wiki.externalUrl}/`)).status, 302);
  });

  it('a tampered cookie, a tampered state, a foreign browser and a replayed code are refused', async () => {
    const c = new Client(h.port);
    await signIn(c, hrUrl(), 'alice', pw('alice'));
    const jar = c.cookies(h.hr.externalHost);
    const cookie = jar.get('__Host-drawbridge-session')!;
    jar.set('__Host-drawbridge-session', `${cookie.slice(0, 10)}${cookie[10] === 'A' ? 'B' : 'A'}${cookie.slice(11)}`);
    assert.equal((await c.request(hrUrl())).status, 302, 'tampered cookie → sign in again');

    const start = await new Client(h.port).request(hrUrl());
    const state = new URL(start.location!).searchParams.get('state')!;
    const [payload, mac] = state.split('.');
    const forged = JSON.parse(Buffer.from(payload, 'base64url').toString());
    forged.a = h.wiki.id;
    const bad = await c.request(
      `${h.loginUrl}/authorize?state=${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${mac}`,
    );
    assert.equal(bad.status, 400);
    assert.match(bad.body, /DB-SIGNIN-STATE-INVALID/);

    // A code handed to one browser cannot be redeemed by another, nor twice.
    const a = new Client(h.port);
    const signedIn = await signIn(a, hrUrl(), 'alice', pw('alice'));
    assert.equal(signedIn.status, 200);
    const b = new Client(h.port);
    await b.request(hrUrl()); // b has its own auth cookie, with another nonce
    const again = await a.request(hrUrl('/other'));
    assert.equal(again.status, 200);
    a.cookies(h.hr.externalHost).delete('__Host-drawbridge-session');
    const redirect = await a.request(hrUrl('/x'));
    const handoff = await a.request(redirect.location!);
    assert.equal(handoff.status, 302);
    assert.match(handoff.location!, /\.drawbridge\/auth\/callback\?code=/);
    const foreign = await b.request(handoff.location!);
    assert.equal(foreign.status, 400, 'other browser');
    assert.match(foreign.body, /DB-SIGNIN-STATE-INVALID/);
    const own = await a.request(handoff.location!);
    assert.equal(own.status, 302, 'the browser that started it redeems the code');
    a.cookies(h.hr.externalHost).delete('__Host-drawbridge-session');
    const replayed = await a.request(handoff.location!);
    assert.equal(replayed.status, 400, 'a code works once');
  });

  it('forms without a CSRF token are refused; return URLs cannot leave the app', async () => {
    const c = new Client(h.port);
    const login = await c.follow(hrUrl());
    const res = await c.request(`${h.loginUrl}/login`, {
      form: { state: formValue(login.body, 'state'), username: 'alice', password: pw('alice') },
    });
    assert.equal(res.status, 403);
    assert.match(res.body, /DB-SIGNIN-CSRF/);
    const cross = await c.request(`${h.loginUrl}/login`, {
      form: {
        csrf: formValue(login.body, 'csrf'),
        state: formValue(login.body, 'state'),
        username: 'alice',
        password: pw('alice'),
      },
      headers: { origin: 'https://evil.example' },
    });
    assert.equal(cross.status, 403);
    const evil = await signIn(new Client(h.port), `${h.hr.externalUrl}//evil.example/`, 'alice', pw('alice'));
    assert.equal(new URL(evil.url).host, new URL(h.hr.externalUrl).host);
  });

  it('locks an account after repeated failures, even for the right password', async () => {
    const frank = await h.directory.users.create(h.tenant.id, {
      upn: 'frank@contoso.example',
      password: 'frank-Password-1',
    });
    let last;
    for (let i = 0; i < 5; i++) last = await signIn(new Client(h.port), hrUrl(), 'frank', `wrong-${i}`);
    assert.equal(last!.status, 403);
    assert.match(last!.body, /DB-SIGNIN-LOCKED-OUT/);
    const right = await signIn(new Client(h.port), hrUrl(), 'frank', 'frank-Password-1');
    assert.equal(right.status, 403);
    assert.match(right.body, /locked for 1 more minute/);
    await h.directory.users.setLockout(h.tenant.id, frank.id, { failedCount: 0, lockedUntil: null });
    assert.equal(
      (await signIn(new Client(h.port), hrUrl(), 'frank', 'frank-Password-1')).status,
      403,
      'now only not assigned',
    );
  });

  it('wrong second-factor codes lock the account even when the right password is entered in between', async () => {
    const gina = await h.directory.users.create(h.tenant.id, {
      upn: 'gina@contoso.example',
      password: 'gina-Password-1',
    });
    const secret = generateTotpSecret();
    await h.directory.mfa.setTotp(h.tenant.id, gina.id, secret, true);
    const wrong = (): string => totp(secret, Date.now() + 10 * 60_000);
    // Rounds of: right password, then wrong codes. The right password alone must not reset the failure count.
    for (let round = 0; round < 2; round++) {
      const c = new Client(h.port);
      const mfa = await signIn(c, hrUrl(), 'gina', 'gina-Password-1');
      if (mfa.status === 403) break; // locked at the password step already
      const form = { csrf: formValue(mfa.body, 'csrf'), state: formValue(mfa.body, 'state') };
      for (let i = 0; i < 3; i++) await c.follow(`${h.loginUrl}/mfa`, { form: { ...form, code: wrong() } });
    }
    const after = await signIn(new Client(h.port), hrUrl(), 'gina', 'gina-Password-1');
    assert.equal(after.status, 403, 'six wrong codes over two sign-ins lock the account');
    assert.match(after.body, /DB-SIGNIN-LOCKED-OUT/);
    // And a locked account cannot keep guessing at the second step either.
    await h.directory.users.setLockout(h.tenant.id, gina.id, { failedCount: 4, lockedUntil: null });
    const c = new Client(h.port);
    const mfa = await signIn(c, hrUrl(), 'gina', 'gina-Password-1');
    const form = { csrf: formValue(mfa.body, 'csrf'), state: formValue(mfa.body, 'state') };
    await c.follow(`${h.loginUrl}/mfa`, { form: { ...form, code: wrong() } });
    const locked = await c.follow(`${h.loginUrl}/mfa`, { form: { ...form, code: totp(secret) } });
    assert.equal(locked.status, 403, 'even the right code is refused while locked');
    assert.match(locked.body, /DB-SIGNIN-LOCKED-OUT/);
  });

  it('API requests without a session get 401 DB-SESSION-EXPIRED as JSON, not a redirect', async () => {
    const res = await new Client(h.port).request(`${h.hr.externalUrl}/api/data`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(res.status, 401);
    assert.equal(JSON.parse(res.body).error.code, 'DB-SESSION-EXPIRED');
  });

  it('the sign-in log has every attempt with its code', async () => {
    const { items } = await h.directory.signinLog.query(h.tenant.id, { limit: 1000 });
    const codes = new Set(items.map((e) => e.code));
    for (const code of [
      'DB-ACCESS-NO-LICENCE',
      'DB-ACCESS-NOT-ASSIGNED',
      'DB-ACCESS-ACCOUNT-DISABLED',
      'DB-SIGNIN-BAD-CREDENTIALS',
      'DB-SIGNIN-LOCKED-OUT',
      'DB-SIGNIN-MFA-FAILED',
      'DB-SIGNIN-MFA-REQUIRED',
      'DB-SIGNIN-CSRF',
    ]) {
      assert.ok(codes.has(code), code);
    }
    const alice = items.find(
      (e) => e.event === 'access' && e.result === 'success' && e.username === 'alice@contoso.example',
    )!;
    assert.equal(alice.appId, h.hr.id);
    assert.equal(alice.clientIp?.replace('::ffff:', ''), '127.0.0.1');
    assert.ok(alice.correlationId);
    const dave = items.find((e) => e.event === 'mfa' && e.result === 'success')!;
    assert.equal(dave.mfaMethod, 'totp');
    const page1 = await h.directory.signinLog.query(h.tenant.id, { limit: 2, result: 'denied' });
    assert.equal(page1.items.length, 2);
    const page2 = await h.directory.signinLog.query(h.tenant.id, { limit: 2, result: 'denied', cursor: page1.next! });
    assert.ok(page2.items.every((e) => !page1.items.some((x) => x.id === e.id)));
  });
});

void DOMAIN;

describe('identity: passkey endpoints refuse what a browser ceremony would not produce', () => {
  it('serves options for the edge domain with user verification required, under a CSP that allows only the page script', async () => {
    const c = new Client(h.port);
    const login = await c.follow(hrUrl('/'));
    const state = formValue(login.body, 'state');
    const page = await c.request(`${h.loginUrl}/passkey/signin?state=${encodeURIComponent(state)}`);
    assert.equal(page.status, 200);
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
    assert.doesNotMatch(csp, /script-src[^;]*(unsafe-inline|'self')/);
    const options = JSON.parse(
      /data-options="([^"]*)"/
        .exec(page.body)![1]
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&'),
    ) as { rpId: string; userVerification: string; challenge: string };
    assert.equal(options.rpId, DOMAIN);
    assert.equal(options.userVerification, 'required');
    assert.ok(options.challenge.length >= 32);
    assert.match(String(page.headers['set-cookie']), /__Host-drawbridge-flow=/);

    // No CSRF token: refused before anything else.
    const noCsrf = await c.request(`${h.loginUrl}/passkey/signin`, { form: { state, credential: '{}' } });
    assert.equal(noCsrf.status, 403);
    assert.match(noCsrf.body, /DB-SIGNIN-CSRF/);
    // A made-up credential: the challenge is spent on the attempt and the answer names the code.
    const csrf = formValue(page.body, 'csrf');
    const loginJar = c.cookies(`login.${DOMAIN}`);
    const firstFlow = loginJar.get('__Host-drawbridge-flow')!;
    const forged = JSON.stringify({
      id: 'AAAA',
      rawId: 'AAAA',
      type: 'public-key',
      clientExtensionResults: {},
      response: { clientDataJSON: 'e30', authenticatorData: 'AAAA', signature: 'AAAA' },
    });
    const bad = await c.request(`${h.loginUrl}/passkey/signin`, { form: { csrf, state, credential: forged } });
    assert.equal(bad.status, 401);
    assert.match(bad.body, /DB-SIGNIN-PASSKEY-FAILED/);
    // Without JavaScript the form posts no credential: same code, and a fresh challenge to try again.
    const empty = await c.request(`${h.loginUrl}/passkey/signin`, { form: { csrf, state, credential: '' } });
    assert.equal(empty.status, 401);
    // The first challenge was spent by the first answer: presenting its cookie again finds nothing.
    loginJar.set('__Host-drawbridge-flow', firstFlow);
    assert.equal(
      (await c.request(`${h.loginUrl}/passkey/signin`, { form: { csrf, state, credential: forged } })).status,
      401,
    );
    const log = await h.directory.signinLog.query(h.tenant.id, { code: 'DB-SIGNIN-PASSKEY-FAILED', limit: 10 });
    assert.ok(log.items.some((e) => (e.detail as { reason?: string }).reason === 'unknown credential'));
    assert.ok(log.items.some((e) => /no credential/.test(String((e.detail as { reason?: string }).reason))));
    assert.ok(
      log.items.some((e) => /challenge missing/.test(String((e.detail as { reason?: string }).reason))),
      'the challenge could be answered once',
    );
  });

  it('the second-step and registration pages need a session at the right stage', async () => {
    const c = new Client(h.port);
    const noSession = await c.request(`${h.loginUrl}/passkey`);
    assert.equal(noSession.status, 401);
    assert.match(noSession.body, /DB-SESSION-EXPIRED/);
    assert.equal((await c.request(`${h.loginUrl}/passkey/register`)).status, 401);
    // alice has no passkey and is signed in: registration is offered, the second step sends her on.
    await signIn(c, hrUrl('/'), 'alice', pw('alice'));
    const register = await c.request(`${h.loginUrl}/passkey/register`);
    assert.equal(register.status, 200);
    assert.match(register.body, /Create a passkey/);
    const second = await c.request(`${h.loginUrl}/passkey`);
    assert.equal(second.status, 303);
    assert.equal(second.location, `${h.loginUrl}/`);
  });
});
