/**
 * Conditional access in headless Chromium, screenshots under test-results/screenshots/: a policy requiring MFA takes
 * a user with no second factor through registration (TOTP) and on to the app; a passkey-only policy sends a user
 * to passkey registration; a block shows DB-CA-BLOCKED with what to do. Chromium connects from 127.0.0.1, so here
 * "Office" is a range it is not in.
 */
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

/** A new HR member with a basic licence (assigned to both apps), no second factor. */
async function newUser(name: string): Promise<string> {
  const user = await h.directory.users.create(h.tenant.id, {
    upn: `${name}@contoso.example`,
    displayName: name,
    password: `${name}-Password-1`,
  });
  const hr = await h.directory.groups.getByName(h.tenant.id, 'HR');
  await h.directory.groups.addMember(h.tenant.id, hr!.id, user.id);
  await h.directory.licences.assign(h.tenant.id, 'basic', { type: 'user', id: user.id });
  return `${name}-Password-1`;
}

async function signIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
}

describe('conditional access in a real browser', {
  skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`,
}, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    h = await startHarness();
    const office = await h.store.locations.create(h.tenant.id, { name: 'Office', cidrs: ['10.20.0.0/16'] });
    await h.store.policies.create(h.tenant.id, {
      name: 'Require MFA for HR outside Office',
      conditions: { apps: [h.hr.id], locations: { exclude: [office.id] } },
      grant: { requireMfa: true },
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('alice, with no second factor, is taken through registration by the policy, then reaches the app', async () => {
    const page = await fresh();
    await signIn(page, `${h.hr.externalUrl}/pay`, 'alice', pw('alice'));
    assert.match(await page.locator('h1').innerText(), /Set up two-step verification/);
    assert.ok(await page.locator('img.qr').isVisible());
    assert.ok(await page.getByRole('link', { name: /passkey/i }).isVisible(), 'a passkey is offered too');
    await shot(page, '30-ca-mfa-registration');
    const secret = (await page.locator('.secret').innerText()).replace(/\s/g, '');
    await page.getByLabel('Code from the app').fill(totp(secret));
    await page.getByRole('button', { name: 'Turn on two-step verification' }).click();
    assert.equal(await page.locator('.codes li').count(), 10);
    await page.getByRole('link', { name: /continue/ }).click();
    await page.waitForURL(`${h.hr.externalUrl}/pay`);
    assert.equal(await page.locator('#upn').innerText(), 'alice@contoso.example');
    assert.match(await page.locator('#methods').innerText(), /password \+ totp/);
    await shot(page, '31-ca-mfa-done');
    // The wiki is not under the policy: single sign-on, no second step asked.
    await page.goto(`${h.wiki.externalUrl}/`);
    assert.equal(await page.locator('#upn').innerText(), 'alice@contoso.example');
    await page.context().close();
  });

  it('a passkey-only policy sends a user without a passkey to passkey registration', async () => {
    const p = await h.store.policies.create(h.tenant.id, {
      name: 'Passkeys for the wiki',
      conditions: { apps: [h.wiki.id] },
      grant: { requirePhishingResistantMfa: true },
    });
    try {
      const page = await fresh();
      await signIn(page, `${h.wiki.externalUrl}/`, 'ivy', await newUser('ivy'));
      assert.match(new URL(page.url()).pathname, /^\/passkey\/register$/);
      assert.match(await page.locator('h1').innerText(), /passkey/i);
      await shot(page, '32-ca-passkey-registration');
      await page.context().close();
    } finally {
      await h.store.policies.delete(h.tenant.id, p.id);
    }
  });

  it('a block shows DB-CA-BLOCKED and what the user can do', async () => {
    const loopback = await h.store.locations.create(h.tenant.id, { name: 'Loopback', cidrs: ['127.0.0.0/8'] });
    const p = await h.store.policies.create(h.tenant.id, {
      name: 'Block loopback from the wiki',
      conditions: { apps: [h.wiki.id], locations: { include: [loopback.id] } },
      grant: { block: true },
    });
    try {
      const page = await fresh();
      await signIn(page, `${h.wiki.externalUrl}/`, 'jack', await newUser('jack'));
      const text = await page.locator('main').innerText();
      assert.match(text, /DB-CA-BLOCKED/);
      assert.match(text, /does not allow access from here/);
      assert.match(text, /usual network or device/);
      await shot(page, '33-ca-blocked');
      await page.context().close();
    } finally {
      await h.store.policies.delete(h.tenant.id, p.id);
    }
  });
});
