/**
 * Conditional access end to end through the sign-in service over real HTTPS, with client addresses picked from the
 * loopback range (the harness client's localAddress): the demo's three outcomes, report-only policies logged but not
 * enforced, a policy change reaching the next request without a restart, and sign-in risk from a seeded history.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totp } from '../../src/identity/totp.ts';
import { seedDemoPolicies } from '../../src/edge/signin/index.ts';
import { reportLocator } from '../../src/edge/signin/extension.ts';
import type { SigninLogEntry } from '../../src/store/directory-types.ts';
import { Client, formValue, signIn, startHarness, type Harness } from './identity-harness.ts';

describe('conditional access', () => {
  let h: Harness;
  let demo: Awaited<ReturnType<typeof seedDemoPolicies>>;
  const hrUrl = () => `${h.hr.externalUrl}/pay`;
  const wikiUrl = () => `${h.wiki.externalUrl}/`;
  const alice = () => h.users.find((u) => u.username === 'alice')!;
  const lastAccess = async (userId: string): Promise<SigninLogEntry> => {
    const { items } = await h.directory.signinLog.query(h.tenant.id, { userId, event: 'access', limit: 1 });
    return items[0];
  };

  before(async () => {
    h = await startHarness();
    demo = await seedDemoPolicies(h.store, h.tenant.id, h.hr.id);
  });
  after(async () => {
    await h.close();
  });

  it('alice from the Office (127.0.0.1) signs in with her password alone; every policy is in the log', async () => {
    const c = new Client(h.port, { localAddress: '127.0.0.1' });
    const res = await signIn(c, hrUrl(), 'alice', alice().password);
    assert.equal(res.status, 200, res.body);
    assert.match(res.body, /Hello, Alice Archer/);
    const user = (await h.directory.users.findByLogin(h.tenant.id, 'alice'))!;
    const entry = await lastAccess(user.id);
    assert.equal(entry.result, 'success');
    assert.equal(entry.clientIp, '127.0.0.1');
    const policies = entry.detail.policies as { name: string; result: string; notApplied?: string }[];
    assert.deepEqual(
      policies.map((p) => [p.name, p.result, p.notApplied]),
      [
        ['Block every app from Blocked range', 'not-applied', 'client not in an included location'],
        ['Require MFA for HR outside Office', 'not-applied', 'client in an excluded location'],
      ],
    );
  });

  it('the security reports place addresses in the named locations and countries conditional access uses', async () => {
    const locator = reportLocator(h.store);
    assert.deepEqual(await locator.namedLocations!(h.tenant.id, '127.0.0.1'), ['Office']);
    assert.deepEqual(await locator.namedLocations!(h.tenant.id, '127.0.0.70'), ['Blocked range']);
    assert.deepEqual(await locator.namedLocations!(h.tenant.id, '127.0.0.100'), []);
    assert.equal(await locator.country!('81.2.69.142'), 'GB');
    assert.equal(await locator.country!('127.0.0.1'), null);
  });

  it('alice from 127.0.0.100 is taken through MFA registration, then reaches the app with two factors', async () => {
    const c = new Client(h.port, { localAddress: '127.0.0.100' });
    const enrol = await signIn(c, hrUrl(), 'alice', alice().password);
    assert.equal(enrol.status, 200, enrol.body);
    assert.match(enrol.url, /\/mfa\/enroll\?state=/);
    const user = (await h.directory.users.findByLogin(h.tenant.id, 'alice'))!;
    const asked = await lastAccess(user.id);
    assert.deepEqual(
      [asked.result, asked.code, (asked.detail.policy as { name: string }).name],
      ['interrupted', 'DB-CA-MFA-REQUIRED', 'Require MFA for HR outside Office'],
    );
    const secret = /class="secret">([A-Z2-7 ]+)</.exec(enrol.body)![1].replace(/ /g, '');
    const codes = await c.follow(`${h.loginUrl}/mfa/enroll`, {
      form: { csrf: formValue(enrol.body, 'csrf'), state: formValue(enrol.body, 'state'), code: totp(secret) },
    });
    assert.equal(codes.status, 200);
    const next = /href="([^"]+)">I have saved them/.exec(codes.body)![1].replace(/&amp;/g, '&');
    const app = await c.follow(new URL(next, h.loginUrl).href);
    assert.equal(app.status, 200, app.body);
    assert.match(app.body, /Hello, Alice Archer/);
    assert.match(app.body, /password \+ totp/);
    assert.equal((await lastAccess(user.id)).result, 'success');
    // The next time, from the same place: the code she now has, not registration.
    const again = await signIn(new Client(h.port, { localAddress: '127.0.0.100' }), hrUrl(), 'alice', alice().password);
    assert.match(again.url, /\/mfa\?state=/);
  });

  it('alice from 127.0.0.70 (Blocked range) is refused with DB-CA-BLOCKED; the log names the policy', async () => {
    const c = new Client(h.port, { localAddress: '127.0.0.70' });
    const res = await signIn(c, wikiUrl(), 'alice', alice().password);
    // She has TOTP by now: the password leads to the code page first (the tenant's own rule), then the block.
    const secret = (await h.directory.mfa.getTotp(
      h.tenant.id,
      (await h.directory.users.findByLogin(h.tenant.id, 'alice'))!.id,
    ))!.secret;
    const blocked = res.url.includes('/mfa?')
      ? await c.follow(`${h.loginUrl}/mfa`, {
          form: {
            csrf: formValue(res.body, 'csrf'),
            state: formValue(res.body, 'state'),
            code: totp(secret, Date.now() + 30_000),
          },
        })
      : res;
    assert.equal(blocked.status, 403, blocked.body);
    assert.match(blocked.body, /DB-CA-BLOCKED/);
    const user = (await h.directory.users.findByLogin(h.tenant.id, 'alice'))!;
    const entry = await lastAccess(user.id);
    assert.deepEqual(
      [entry.result, entry.code, (entry.detail.policy as { name: string }).name],
      ['denied', 'DB-CA-BLOCKED', 'Block every app from Blocked range'],
    );
  });

  it('a report-only policy is logged as "would have" and not enforced; switching it on applies at the next request', async () => {
    const c = new Client(h.port, { localAddress: '127.0.0.2' });
    const erin = await h.directory.users.create(h.tenant.id, {
      upn: 'erin@contoso.example',
      displayName: 'Erin',
      password: 'erin-Password-1',
    });
    const hrGroup = (await h.directory.groups.getByName(h.tenant.id, 'HR'))!;
    await h.directory.groups.addMember(h.tenant.id, hrGroup.id, erin.id);
    await h.directory.licences.assign(h.tenant.id, 'basic', { type: 'user', id: erin.id });
    const trial = await h.store.policies.create(h.tenant.id, {
      name: 'Trial: block erin',
      state: 'report-only',
      conditions: { users: { include: { users: [erin.id], groups: [] } } },
      grant: { block: true },
    });
    const res = await signIn(c, hrUrl(), 'erin', 'erin-Password-1');
    assert.equal(res.status, 200, res.body);
    const entry = await lastAccess(erin.id);
    assert.equal(entry.result, 'success');
    const logged = (entry.detail.policies as { name: string; result: string }[]).find(
      (p) => p.name === 'Trial: block erin',
    );
    assert.equal(logged?.result, 'would have: block');
    // On: the next request with the same app session is refused, from the cache refreshed by the change event.
    await h.store.policies.update(h.tenant.id, trial.id, { state: 'on' });
    const refused = await c.request(hrUrl());
    assert.equal(refused.status, 403);
    assert.match(refused.body, /DB-CA-BLOCKED/);
    await h.store.policies.delete(h.tenant.id, trial.id);
  });

  it('an app session moved into the Blocked range is refused on its next request', async () => {
    const office = new Client(h.port, { localAddress: '127.0.0.3' });
    const erin = await signIn(office, hrUrl(), 'erin', 'erin-Password-1');
    assert.equal(erin.status, 200);
    // The same cookies from another address (a laptop that changed networks).
    const moved = new Client(h.port, { localAddress: '127.0.0.80' });
    for (const [host, jar] of office.jar) moved.jar.set(host, new Map(jar));
    const res = await moved.request(hrUrl());
    assert.equal(res.status, 403);
    assert.match(res.body, /DB-CA-BLOCKED/);
  });

  it('sign-in risk from the tenant history: a password spray from one address makes the next sign-in high risk', async () => {
    const risky = await h.store.policies.create(h.tenant.id, {
      name: 'Block high risk',
      conditions: { signinRisk: ['high'] },
      grant: { block: true },
    });
    const ip = '127.0.0.20';
    for (const name of ['ann', 'ben', 'cal', 'dan', 'eve']) {
      await h.directory.signinLog.append({
        tenantId: h.tenant.id,
        event: 'signin',
        userId: null,
        username: name,
        appId: null,
        clientIp: ip,
        userAgent: null,
        result: 'failure',
        code: 'DB-SIGNIN-BAD-CREDENTIALS',
        authMethod: 'password',
        mfaMethod: null,
        correlationId: null,
        detail: {},
      });
    }
    const res = await signIn(new Client(h.port, { localAddress: ip }), hrUrl(), 'erin', 'erin-Password-1');
    assert.equal(res.status, 403, res.body);
    assert.match(res.body, /DB-CA-BLOCKED/);
    const erin = (await h.directory.users.findByLogin(h.tenant.id, 'erin'))!;
    const entry = await lastAccess(erin.id);
    assert.deepEqual(entry.detail.risk, { level: 'high', signals: ['password-spray'] });
    // From another address the same user is fine.
    const ok = await signIn(new Client(h.port, { localAddress: '127.0.0.21' }), hrUrl(), 'erin', 'erin-Password-1');
    assert.equal(ok.status, 200, ok.body);
    await h.store.policies.delete(h.tenant.id, risky.id);
    void demo;
  });
});
