/** The demo users in headless Chromium: what each of them sees, saved as screenshots under test-results/screenshots/. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { totp } from '../../src/identity/totp.ts';
import { startHarness, type Harness } from './identity-harness.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';

const SHOTS = 'test-results/screenshots';

let h: Harness;
let browser: Browser;
const pw = (name: string) => h.users.find((u) => u.username === name)!.password;

async function fresh(): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
  return context.newPage();
}
const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

async function signIn(page: Page, username: string, password: string, path = '/pay'): Promise<void> {
  await page.goto(`${h.hr.externalUrl}${path}`);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
}

describe('identity in a real browser', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    h = await startHarness();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('alice signs in and reaches the app; sign-out closes every app', async () => {
    const page = await fresh();
    await page.goto(`${h.hr.externalUrl}/pay`);
    assert.equal(new URL(page.url()).host, `login.apps.localhost:${h.port}`);
    await page.getByLabel('User name').fill('alice');
    await shot(page, '01-sign-in');
    await page.getByLabel('Password').fill('not her password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.match(await page.locator('[role=alert]').innerText(), /user name or password is not right/);
    await shot(page, '02-wrong-password');
    await page.getByLabel('Password').fill(pw('alice'));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${h.hr.externalUrl}/pay`);
    assert.equal(await page.locator('#upn').innerText(), 'alice@contoso.example');
    await shot(page, '03-alice-in-the-app');
    const cookies = await page.context().cookies(h.hr.externalUrl);
    const session = cookies.find((c) => c.name === '__Host-drawbridge-session')!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.expires, -1, 'a session cookie unless the tenant allows persistence');
    // Single sign-on to the second app.
    await page.goto(`${h.wiki.externalUrl}/`);
    assert.equal(await page.locator('#upn').innerText(), 'alice@contoso.example');
    await page.getByRole('link', { name: 'Sign out' }).click();
    await shot(page, '04-sign-out-confirm');
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.match(await page.locator('h1').innerText(), /You are signed out/);
    await shot(page, '05-signed-out');
    await page.goto(`${h.hr.externalUrl}/pay`);
    assert.equal(new URL(page.url()).host, `login.apps.localhost:${h.port}`, 'hr asks to sign in again');
    await page.context().close();
  });

  it('bob and carol each get their own page and code', async () => {
    const bob = await fresh();
    await signIn(bob, 'bob', pw('bob'));
    assert.match(await bob.locator('h1').innerText(), /no licence/);
    assert.match(await bob.locator('dl').innerText(), /DB-ACCESS-NO-LICENCE/);
    await shot(bob, '06-bob-no-licence');
    await bob.context().close();
    const carol = await fresh();
    await signIn(carol, 'carol', pw('carol'));
    assert.match(await carol.locator('h1').innerText(), /not been given access/);
    assert.match(await carol.locator('dl').innerText(), /DB-ACCESS-NOT-ASSIGNED/);
    await shot(carol, '07-carol-not-assigned');
    // "Sign in as someone else" works from the denial page.
    await carol.getByRole('button', { name: 'Sign in as someone else' }).click();
    assert.match(await carol.locator('h1').innerText(), /signed out/);
    await carol.context().close();
  });

  it('dave passes TOTP', async () => {
    const page = await fresh();
    await signIn(page, 'dave', pw('dave'));
    assert.match(await page.locator('h1').innerText(), /verification code/);
    await shot(page, '08-dave-totp');
    await page.getByRole('textbox', { name: 'Verification code' }).fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.match(await page.locator('[role=alert]').innerText(), /DB-SIGNIN-MFA-FAILED/);
    await shot(page, '09-dave-wrong-code');
    await page
      .getByRole('textbox', { name: 'Verification code' })
      .fill(totp(h.users.find((u) => u.username === 'dave')!.totpSecret!));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${h.hr.externalUrl}/pay`);
    assert.equal(await page.locator('#methods').innerText(), 'password + totp');
    await page.context().close();
  });

  it('a tenant that requires MFA walks a new user through enrolment with a QR code and recovery codes', async () => {
    await h.directory.settings.update(h.tenant.id, { requireMfa: true });
    const gina = await h.directory.users.create(h.tenant.id, {
      upn: 'gina@contoso.example',
      displayName: 'Gina Green',
      password: 'gina-Password-1',
    });
    const hrGroup = await h.directory.groups.getByName(h.tenant.id, 'HR');
    await h.directory.groups.addMember(h.tenant.id, hrGroup!.id, gina.id);
    await h.directory.licences.assign(h.tenant.id, 'basic', { type: 'user', id: gina.id });
    try {
      const page = await fresh();
      await signIn(page, 'gina', 'gina-Password-1');
      assert.match(await page.locator('h1').innerText(), /Set up two-step verification/);
      assert.ok(await page.locator('img.qr').isVisible());
      await shot(page, '10-enrol-totp');
      const secret = (await page.locator('.secret').innerText()).replace(/\s/g, '');
      await page.getByLabel('Code from the app').fill(totp(secret));
      await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
      assert.equal(await page.locator('.codes li').count(), 10);
      await shot(page, '11-recovery-codes');
      await page.getByRole('link', { name: /continue/ }).click();
      await page.waitForURL(`${h.hr.externalUrl}/pay`);
      assert.equal(await page.locator('#upn').innerText(), 'gina@contoso.example');
      await page.context().close();
    } finally {
      await h.directory.settings.update(h.tenant.id, { requireMfa: false });
    }
  });

  it('lockout after repeated failures, and a tampered state, each have their page', async () => {
    await h.directory.users.create(h.tenant.id, { upn: 'hank@contoso.example', password: 'hank-Password-1' });
    const page = await fresh();
    for (let i = 0; i < 5; i++) await signIn(page, 'hank', `wrong-${i}`);
    assert.match(await page.locator('[role=alert]').innerText(), /locked/);
    await shot(page, '12-locked-out');
    const url = new URL(page.url());
    const state = url.searchParams.get('state') ?? '';
    await page.goto(`https://login.apps.localhost:${h.port}/authorize?state=${state.slice(0, -3)}xyz`);
    assert.match(await page.locator('dl').innerText(), /DB-SIGNIN-STATE-INVALID/);
    await shot(page, '13-state-invalid');
    await page.context().close();
  });
});
