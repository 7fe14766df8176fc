/**
 * Several identity providers per tenant: two real OpenID Connect providers (oidc-provider, one process each on its
 * own port) chosen by e-mail domain (home realm discovery), a chooser with both, and the password form for any
 * other domain; in headless Chromium.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startHarness, type Harness } from './identity-harness.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';

const SHOTS = 'test-results/screenshots';

let h: Harness;
const idps: ChildProcess[] = [];
let contosoIssuer: string;
let fabrikamIssuer: string;
let browser: Browser;

async function startIdp(domain: string, clientId: string, secret: string): Promise<string> {
  const idp = spawn(process.execPath, ['test/fixtures/oidc-idp.ts'], {
    env: {
      ...process.env,
      IDP_CLIENT_ID: clientId,
      IDP_CLIENT_SECRET: secret,
      IDP_REDIRECT_URI: `${h.loginUrl}/oidc/callback`,
      IDP_DOMAIN: domain,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  idps.push(idp);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: idp.stdout! }).once('line', resolve);
    idp.once('exit', (code) => reject(new Error(`IdP for ${domain} exited ${code}`)));
  });
  return (JSON.parse(line) as { issuer: string }).issuer;
}

/** Signs in at the provider's development login page (any password), consenting when asked. */
async function signInAtProvider(page: Page, issuer: string, login?: string): Promise<void> {
  if (login !== undefined) await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('anything');
  await page.locator('button[type=submit]').click();
  await page.waitForLoadState();
  if (page.url().startsWith(issuer)) await page.locator('button[type=submit]').click(); // consent
}

async function typeName(page: Page, name: string): Promise<void> {
  await page.getByLabel('E-mail or user name').fill(name);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.waitForLoadState();
}

describe('identity: several OpenID Connect providers chosen by e-mail domain', {
  skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`,
}, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    h = await startHarness();
    [contosoIssuer, fabrikamIssuer] = await Promise.all([
      startIdp('contoso.example', 'drawbridge-a', 'secret-a'),
      startIdp('fabrikam.example', 'drawbridge-b', 'secret-b'),
    ]);
    assert.notEqual(contosoIssuer, fabrikamIssuer);
    const common = {
      scopes: ['openid', 'profile', 'email'],
      usernameClaim: 'preferred_username',
      groupsClaim: 'groups',
      autoCreateUsers: true,
      allowInsecureLoopback: true,
    };
    await h.directory.settings.putProvider(h.tenant.id, {
      ...common,
      id: 'contoso',
      issuer: contosoIssuer,
      clientId: 'drawbridge-a',
      clientSecret: 'secret-a',
      displayName: 'Contoso ID',
      domains: ['contoso.example'],
    });
    await h.directory.settings.putProvider(h.tenant.id, {
      ...common,
      id: 'fabrikam',
      issuer: fabrikamIssuer,
      clientId: 'drawbridge-b',
      clientSecret: 'secret-b',
      displayName: 'Fabrikam ID',
      domains: ['fabrikam.example'],
      buttonLabel: 'Fabrikam staff',
    });
    // contoso.example is now federated: the harness's local alice gives way to the one Contoso ID knows.
    const localAlice = await h.directory.users.findByLogin(h.tenant.id, 'alice@contoso.example');
    if (localAlice) await h.directory.users.delete(h.tenant.id, localAlice.id);
    const federated = await h.directory.groups.create(h.tenant.id, { name: 'Federated' });
    await h.directory.licences.assign(h.tenant.id, 'basic', { type: 'group', id: federated.id });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    for (const idp of idps) idp.kill('SIGTERM');
    await h?.close();
  });

  it('the sign-in page asks for the name first and offers a button for each provider', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
    const page = await context.newPage();
    await page.goto(`${h.hr.externalUrl}/`);
    assert.equal(await page.locator('input[name=password]').count(), 0, 'no password field before the name');
    assert.equal(await page.getByLabel('E-mail or user name').count(), 1);
    assert.equal(await page.getByRole('link', { name: 'Sign in with Contoso ID' }).count(), 1);
    assert.equal(await page.getByRole('link', { name: 'Fabrikam staff' }).count(), 1);
    await page.screenshot({ path: `${SHOTS}/40-idp-chooser.png`, fullPage: true });
    // The chooser's button goes to its provider without a name.
    await page.getByRole('link', { name: 'Fabrikam staff' }).click();
    await page.waitForLoadState();
    assert.ok(page.url().startsWith(fabrikamIssuer), page.url());
    await context.close();
  });

  it('alice@contoso.example goes straight to the Contoso provider and reaches the app', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
    const page = await context.newPage();
    await page.goto(`${h.hr.externalUrl}/pay`);
    await typeName(page, 'alice@contoso.example');
    assert.ok(page.url().startsWith(contosoIssuer), `at Contoso's provider (${page.url()})`);
    assert.equal(
      await page.locator('input[name=login]').inputValue(),
      'alice@contoso.example',
      'the name went along as login_hint',
    );
    await signInAtProvider(page, contosoIssuer);
    await page.waitForURL(`${h.hr.externalUrl}/pay`);
    assert.equal(await page.locator('#upn').innerText(), 'alice@contoso.example');
    assert.equal(await page.locator('#methods').innerText(), 'oidc');
    const alice = await h.directory.users.findByLogin(h.tenant.id, 'alice@contoso.example');
    assert.equal(alice?.source, 'oidc');
    assert.equal(
      (await h.directory.users.findByExternal(h.tenant.id, contosoIssuer, 'alice@contoso.example'))?.id,
      alice?.id,
      'linked to the Contoso provider',
    );
    await context.close();
  });

  it('bob@fabrikam.example goes straight to the Fabrikam provider and reaches the app', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
    const page = await context.newPage();
    await page.goto(`${h.hr.externalUrl}/pay`);
    await typeName(page, 'Bob@Fabrikam.example');
    assert.ok(page.url().startsWith(fabrikamIssuer), `at Fabrikam's provider (${page.url()})`);
    await signInAtProvider(page, fabrikamIssuer, 'bob');
    await page.waitForURL(`${h.hr.externalUrl}/pay`);
    assert.equal(await page.locator('#upn').innerText(), 'bob@fabrikam.example');
    await page.screenshot({ path: `${SHOTS}/41-idp-fabrikam-bob.png`, fullPage: true });
    const bob = await h.directory.users.findByLogin(h.tenant.id, 'bob@fabrikam.example');
    assert.equal(
      (await h.directory.users.findByExternal(h.tenant.id, fabrikamIssuer, 'bob'))?.id,
      bob?.id,
      'linked to the Fabrikam provider',
    );
    assert.equal(await h.directory.users.findByExternal(h.tenant.id, contosoIssuer, 'bob'), null);
    await context.close();
  });

  it("a name in no provider's domain gets the password form of the local directory", async () => {
    const dana = await h.directory.users.create(h.tenant.id, {
      upn: 'dana@example.org',
      password: 'dana-Local-Password-1',
    });
    await h.directory.licences.assign(h.tenant.id, 'basic', { type: 'user', id: dana.id });
    await h.directory.groups.addMember(
      h.tenant.id,
      (await h.directory.groups.getByName(h.tenant.id, 'HR'))!.id,
      dana.id,
    );
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
    const page = await context.newPage();
    await page.goto(`${h.hr.externalUrl}/pay`);
    await typeName(page, 'dana@example.org');
    assert.ok(new URL(page.url()).origin === h.loginUrl, `still on the sign-in host (${page.url()})`);
    assert.equal(await page.locator('input[name=username]').inputValue(), 'dana@example.org');
    await page.screenshot({ path: `${SHOTS}/42-idp-password-fallback.png`, fullPage: true });
    await page.locator('input[name=password]').fill('dana-Local-Password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${h.hr.externalUrl}/pay`);
    assert.equal(await page.locator('#upn').innerText(), 'dana@example.org');
    assert.equal(await page.locator('#methods').innerText(), 'password');
    await context.close();
  });

  it('a provider cannot sign in a name in a domain another provider owns', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
    const page = await context.newPage();
    await page.goto(`${h.hr.externalUrl}/`);
    await page.getByRole('link', { name: 'Sign in with Contoso ID' }).click();
    await page.waitForLoadState();
    await signInAtProvider(page, contosoIssuer, 'mallory@fabrikam.example');
    await page.waitForLoadState();
    assert.ok(!page.url().startsWith(h.hr.externalUrl), `not let into the app (${page.url()})`);
    assert.match(await page.locator('main').innerText(), /DB-FED-ACCOUNT-NOT-LINKED/);
    assert.equal(await h.directory.users.findByLogin(h.tenant.id, 'mallory@fabrikam.example'), null);
    await context.close();
  });

  it('a provider cannot sign in an account another provider made, even in a domain no provider owns', async () => {
    const viaChooser = async (button: string, issuer: string, login: string): Promise<Page> => {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
      const page = await context.newPage();
      await page.goto(`${h.hr.externalUrl}/pay`);
      await page.getByRole('link', { name: button }).click();
      await page.waitForLoadState();
      await signInAtProvider(page, issuer, login);
      await page.waitForLoadState();
      return page;
    };
    const first = await viaChooser('Sign in with Contoso ID', contosoIssuer, 'zed@example.net');
    await first.waitForURL(`${h.hr.externalUrl}/pay`);
    const zed = await h.directory.users.findByLogin(h.tenant.id, 'zed@example.net');
    assert.deepEqual(await h.directory.users.externalLinks(h.tenant.id, zed!.id), [
      { issuer: contosoIssuer, subject: 'zed@example.net', providerId: 'contoso' },
    ]);
    await first.context().close();
    const second = await viaChooser('Fabrikam staff', fabrikamIssuer, 'zed@example.net');
    assert.ok(!second.url().startsWith(h.hr.externalUrl), `not let into the app (${second.url()})`);
    assert.match(await second.locator('main').innerText(), /DB-FED-ACCOUNT-NOT-LINKED/);
    assert.equal(await h.directory.users.findByExternal(h.tenant.id, fabrikamIssuer, 'zed@example.net'), null);
    await second.context().close();
  });
});
