/** Federation against a real OpenID Connect provider (oidc-provider in its own process), in headless Chromium. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { Client, startHarness, type Harness } from './identity-harness.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';

const SHOTS = 'test-results/screenshots';

let h: Harness;
let idp: ChildProcess;
let issuer: string;
let browser: Browser;

describe('identity: federation with OpenID Connect', {
  skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`,
}, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    h = await startHarness();
    idp = spawn(process.execPath, ['test/fixtures/oidc-idp.ts'], {
      env: {
        ...process.env,
        IDP_CLIENT_ID: 'drawbridge',
        IDP_CLIENT_SECRET: 'fed-secret',
        IDP_REDIRECT_URI: `${h.loginUrl}/oidc/callback`,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: idp.stdout! }).once('line', resolve);
      idp.once('exit', (code) => reject(new Error(`IdP exited ${code}`)));
    });
    issuer = (JSON.parse(line) as { issuer: string }).issuer;
    await h.directory.settings.update(h.tenant.id, {
      oidc: {
        issuer,
        clientId: 'drawbridge',
        clientSecret: 'fed-secret',
        displayName: 'Fabrikam ID',
        scopes: ['openid', 'profile', 'email'],
        usernameClaim: 'preferred_username',
        groupsClaim: 'groups',
        autoCreateUsers: true,
        allowInsecureLoopback: true,
      },
    });
    const federated = await h.directory.groups.create(h.tenant.id, { name: 'Federated' });
    await h.directory.licences.assign(h.tenant.id, 'basic', { type: 'group', id: federated.id });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    idp?.kill('SIGTERM');
    await h?.close();
  });

  it('a new user signs in at the provider, is created with their groups, and reaches the app', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
    const page = await context.newPage();
    await page.goto(`${h.hr.externalUrl}/pay`);
    await page.getByRole('link', { name: 'Sign in with Fabrikam ID' }).click();
    assert.ok(page.url().startsWith(issuer), page.url());
    await page.locator('input[name=login]').fill('ivy');
    await page.locator('input[name=password]').fill('anything');
    await page.locator('button[type=submit]').click();
    await page.waitForLoadState();
    if (page.url().startsWith(issuer)) {
      await page.locator('button[type=submit]').click(); // consent
    }
    await page.waitForURL(`${h.hr.externalUrl}/pay`);
    assert.equal(await page.locator('#upn').innerText(), 'ivy@fabrikam.example');
    assert.equal(await page.locator('#groups').innerText(), 'Federated, HR');
    assert.equal(await page.locator('#methods').innerText(), 'oidc');
    await page.screenshot({ path: `${SHOTS}/14-federated-ivy.png`, fullPage: true });
    const user = await h.directory.users.findByLogin(h.tenant.id, 'ivy@fabrikam.example');
    assert.equal(user?.source, 'oidc');
    assert.equal(await h.directory.users.findByExternal(h.tenant.id, issuer, 'ivy').then((u) => u?.id), user?.id);
    const { items } = await h.directory.signinLog.query(h.tenant.id, { userId: user!.id });
    assert.ok(items.some((e) => e.event === 'signin' && e.result === 'success' && e.authMethod === 'oidc'));
    await context.close();
  });

  it('never takes over an existing local account that has the same name at the provider', async () => {
    const jack = await h.directory.users.create(h.tenant.id, {
      upn: 'jack@fabrikam.example',
      password: 'jack-Local-Password-1',
    });
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
    const page = await context.newPage();
    await page.goto(`${h.hr.externalUrl}/`);
    await page.getByRole('link', { name: 'Sign in with Fabrikam ID' }).click();
    await page.locator('input[name=login]').fill('jack');
    await page.locator('input[name=password]').fill('anything');
    await page.locator('button[type=submit]').click();
    await page.waitForLoadState();
    if (page.url().startsWith(issuer)) await page.locator('button[type=submit]').click(); // consent
    await page.waitForLoadState();
    assert.ok(!page.url().startsWith(h.hr.externalUrl), `not let into the app (${page.url()})`);
    assert.match(await page.locator('main').innerText(), /DB-FED-ACCOUNT-NOT-LINKED/);
    assert.match(await page.locator('main').innerText(), /not linked to your organisation/);
    await page.screenshot({ path: `${SHOTS}/15-federation-refuses-takeover.png`, fullPage: true });
    assert.equal(
      await h.directory.users.findByExternal(h.tenant.id, issuer, 'jack'),
      null,
      'the local account was not linked',
    );
    assert.equal((await h.directory.users.get(h.tenant.id, jack.id))?.source, 'local');
    await context.close();
  });

  it('a callback without the flow started in this browser is refused', async () => {
    const res = await new Client(h.port).request(`${h.loginUrl}/oidc/callback?code=abc&state=def`);
    assert.equal(res.status, 400);
    assert.match(res.body, /DB-SIGNIN-STATE-INVALID/);
  });
});
