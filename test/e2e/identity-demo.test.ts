/**
 * Pre-authentication on the real product path: `drawbridge dev` (edge, two connectors, the Contoso HR backend) and the
 * four demo users of dev.json, in headless Chromium. Screenshots of every page go to test-results/screenshots/demo-*.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { mkdir, readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { generate as otp } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { request } from 'undici';
import WebSocket from 'ws';
import { loopbackLookup, startDevStack, type DevStack } from '../helpers/dev-stack.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';

const SHOTS = 'test-results/screenshots';
const SESSION_COOKIE = '__Host-drawbridge-session';

interface DemoUser {
  username: string;
  password: string;
  totpSecret?: string;
  note: string;
}
interface LogEntry {
  event: string;
  result: string;
  code: string | null;
  username: string | null;
  appId: string | null;
  mfaMethod: string | null;
  authMethod: string | null;
  clientIp: string | null;
  userAgent: string | null;
  correlationId: string;
}

let stack: DevStack;
let browser: Browser;
let users: DemoUser[];
let hrUrl: string;
let loginHost: string;
let ca: Buffer;
/** A second pre-authenticated app, published through the admin API for the cross-app checks. */
let payroll: { id: string; externalUrl: string };

const user = (name: string) => users.find((u) => u.username === name)!;
/** After a form posts (possibly to its own URL), wait until the page that answers it shows this heading. */
const landed = (page: Page, heading: RegExp) => page.locator('h1', { hasText: heading }).waitFor({ timeout: 15_000 });
const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/demo-${name}.png`, fullPage: true });

async function fresh(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1000, height: 760 } });
  return { context, page: await context.newPage() };
}

/** Opens `url` (an app), lands on the sign-in page and submits the form. */
async function signIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  assert.equal(new URL(page.url()).host, loginHost, 'the app sends the browser to the central sign-in host');
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState();
}

/** A plain HTTPS request that trusts the dev CA (no cookie jar, no redirects followed). */
async function get(
  url: string,
  cookie?: string,
): Promise<{ status: number; location: string | undefined; body: string }> {
  const res = await request(url, {
    dispatcher: stack.agent,
    headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) },
  });
  return { status: res.statusCode, location: res.headers.location as string | undefined, body: await res.body.text() };
}

async function appCookie(context: BrowserContext, url: string): Promise<string> {
  const cookie = (await context.cookies(url)).find((c) => c.name === SESSION_COOKIE);
  assert.ok(cookie, `an app session cookie for ${url}`);
  return `${cookie.name}=${cookie.value}`;
}

function openWebSocket(url: string, cookie?: string): Promise<{ ws: WebSocket; status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace('https:', 'wss:'), {
      ca,
      lookup: loopbackLookup as never,
      headers: cookie ? { cookie } : {},
    });
    ws.once('open', () => resolve({ ws, status: 101 }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ ws, status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** A raw upgrade request without a session: what the edge answers, and whether it then closes the connection. */
function rawUpgrade(url: string): Promise<{ head: string; closed: boolean }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port: Number(u.port), servername: u.hostname, ca }, () => {
      socket.write(
        `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.alloc(16, 1).toString('base64')}\r\n\r\n`,
      );
    });
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ head, closed: false });
    }, 3000);
    socket.on('data', (d: Buffer) => {
      head += d.toString('latin1');
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ head, closed: true });
    });
    socket.once('error', reject);
  });
}

async function signinLog(query: string): Promise<LogEntry[]> {
  const res = await stack.admin<{ items: LogEntry[] }>('GET', `/tenants/contoso/signin-log?limit=200&${query}`);
  assert.equal(res.status, 200);
  return res.body.items;
}

describe('identity demo: drawbridge dev in a real browser', {
  skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`,
  timeout: 240_000,
}, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    stack = await startDevStack();
    users = (JSON.parse(await readFile(`${stack.dir}/dev.json`, 'utf8')) as { users: DemoUser[] }).users;
    hrUrl = stack.dev.apps.find((a) => a.name === 'hr')!.externalUrl;
    loginHost = `login.apps.localhost:${stack.publicPort}`;
    ca = await readFile(stack.dev.caCertPath);
    browser = await launchChromium(['--host-resolver-rules=MAP *.apps.localhost 127.0.0.1']);
    // Payroll: a second pre-authenticated app on the same backend, assigned to the HR group like hr.
    const hr = await stack.admin<{ internalUrl: string; groupId: string }>('GET', '/tenants/contoso/apps/hr');
    const created = await stack.admin<{ id: string; externalUrl: string }>('POST', '/tenants/contoso/apps', {
      name: 'payroll',
      internalUrl: hr.body.internalUrl,
      groupId: hr.body.groupId,
      preAuth: 'idp',
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    payroll = created.body;
    const groups = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants/contoso/user-groups');
    const hrGroup = groups.body.items.find((g) => g.name === 'HR')!;
    assert.equal(
      (await stack.admin('POST', `/tenants/contoso/apps/${payroll.id}/assignments`, { type: 'group', id: hrGroup.id }))
        .status,
      201,
    );
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('alice signs in and reaches Contoso HR; one sign-in serves payroll; her cookie opens nothing else; sign-out closes every app', async () => {
    const { context, page } = await fresh();
    await page.goto(`${hrUrl}/`);
    assert.equal(new URL(page.url()).host, loginHost);
    assert.match(await page.locator('.lead').innerText(), /continue to hr/);
    await page.getByLabel('User name').fill('alice');
    await shot(page, '01-sign-in');
    await page.getByLabel('Password').fill('not her password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    assert.match(
      await page.locator('[role=alert]').innerText(),
      /user name or password is not right[\s\S]*DB-SIGNIN-BAD-CREDENTIALS/,
    );
    await shot(page, '02-wrong-password');
    await page.getByLabel('Password').fill(user('alice').password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${hrUrl}/`);
    assert.equal(await page.locator('h1').innerText(), 'Contoso HR');
    await shot(page, '03-alice-in-contoso-hr');

    const cookies = await context.cookies(hrUrl);
    const session = cookies.find((c) => c.name === SESSION_COOKIE)!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.domain, 'hr-contoso.apps.localhost', 'host-only');
    assert.equal(session.expires, -1, 'a browser-session cookie unless the tenant allows persistence');
    const hrCookie = `${session.name}=${session.value}`;
    // Drawbridge's cookies never reach the backend (the sample app prints what it received).
    assert.doesNotMatch(await page.locator('table').innerText(), /drawbridge-session|drawbridge-login/);

    // The cookie works outside the browser too (curl-like client that checks the dev CA) …
    const direct = await get(`${hrUrl}/`, hrCookie);
    assert.equal(direct.status, 200);
    assert.match(direct.body, /Contoso HR/);
    // … and opens a WebSocket to the pre-authenticated app; without it the upgrade is refused.
    const withCookie = await openWebSocket(`${hrUrl}/ws`, hrCookie);
    assert.equal(withCookie.status, 101);
    const echoed = new Promise<string>((resolve) => withCookie.ws.once('message', (d) => resolve(d.toString())));
    withCookie.ws.send('hello through the tunnel');
    assert.equal(await echoed, 'hello through the tunnel');
    withCookie.ws.close();
    const without = await openWebSocket(`${hrUrl}/ws`);
    assert.equal(without.status, 302, 'an upgrade without a session is sent to sign in');
    const raw = await rawUpgrade(`${hrUrl}/ws`);
    assert.match(raw.head, /^HTTP\/1\.1 302 /);
    assert.ok(raw.closed, 'the edge closes a refused upgrade instead of leaving the socket open');

    // A stolen hr cookie does not open payroll: the edge sends it to sign in.
    const stolen = await get(`${payroll.externalUrl}/`, hrCookie);
    assert.equal(stolen.status, 302);
    assert.equal(new URL(stolen.location!).host, loginHost);
    assert.equal((await openWebSocket(`${payroll.externalUrl}/ws`, hrCookie)).status, 302);
    // Nor in a browser that plants it on payroll's host.
    const thief = await fresh();
    await thief.context.addCookies([
      {
        name: SESSION_COOKIE,
        value: session.value,
        url: `${payroll.externalUrl}/`,
        secure: true,
        httpOnly: true,
        sameSite: 'Lax',
      },
    ]);
    await thief.page.goto(`${payroll.externalUrl}/`);
    assert.equal(new URL(thief.page.url()).host, loginHost);
    assert.equal(await thief.page.getByLabel('Password').count(), 1, 'the thief is asked for a password');
    await shot(thief.page, '04-stolen-cookie-refused');
    await thief.context.close();

    // Single sign-on: payroll opens without a password, with its own cookie.
    await page.goto(`${payroll.externalUrl}/`);
    await page.waitForURL(`${payroll.externalUrl}/`);
    assert.equal(await page.locator('h1').innerText(), 'Contoso HR');
    const payrollCookie = await appCookie(context, payroll.externalUrl);
    assert.notEqual(payrollCookie, hrCookie);

    // Sign-out from an app: confirm on the sign-in host, then every app is closed.
    await page.goto(`${hrUrl}/.drawbridge/auth/signout`);
    assert.equal(new URL(page.url()).host, loginHost);
    assert.match(await page.locator('h1').innerText(), /Sign out of all applications/);
    await shot(page, '05-sign-out-confirm');
    await page.getByRole('button', { name: 'Sign out' }).click();
    assert.match(await page.locator('h1').innerText(), /You are signed out/);
    await shot(page, '06-signed-out');
    for (const app of [hrUrl, payroll.externalUrl]) {
      await page.goto(`${app}/`);
      assert.equal(new URL(page.url()).host, loginHost, `${app} asks to sign in again`);
    }
    // The copied cookies died with the central session (the store is authoritative, not the cookie).
    assert.equal((await get(`${payroll.externalUrl}/`, payrollCookie)).status, 302);
    assert.equal((await get(`${hrUrl}/`, hrCookie)).status, 302);
    assert.equal((await openWebSocket(`${hrUrl}/ws`, hrCookie)).status, 302);
    await context.close();
  });

  it('the portal lists exactly the apps a user may open, one click each', async () => {
    const alice = await fresh();
    await signIn(alice.page, `${hrUrl}/`, 'alice', user('alice').password);
    await alice.page.waitForURL(`${hrUrl}/`);
    await alice.page.goto(`https://${loginHost}/`);
    const links = alice.page.locator('ul.apps a');
    const names = await alice.page.locator('ul.apps .app-name').allInnerTexts();
    assert.ok(names.includes('hr'), `alice's portal lists hr (got ${names.join(', ')})`);
    assert.ok(!names.includes('sample'), 'passthrough apps need no sign-in and are not on the portal');
    await shot(alice.page, '00-portal-alice');
    await links.filter({ hasText: 'hr' }).first().click();
    await alice.page.waitForURL(`${hrUrl}/`);
    assert.equal(
      await alice.page.locator('h1').innerText(),
      'Contoso HR',
      'one click opens the app without signing in again',
    );
    await alice.context.close();

    // carol is not assigned, bob has no licence: the portal offers them nothing that would deny them.
    for (const name of ['carol', 'bob']) {
      const other = await fresh();
      await signIn(other.page, `${hrUrl}/`, name, user(name).password);
      await other.page.goto(`https://${loginHost}/`);
      assert.equal(await other.page.locator('ul.apps a').count(), 0, `${name} sees no app`);
      assert.match(await other.page.locator('main').innerText(), /No application is assigned to you yet/);
      await other.context.close();
    }
  });

  it('bob and carol each get their own page and code', async () => {
    const bob = await fresh();
    await signIn(bob.page, `${hrUrl}/`, 'bob', user('bob').password);
    assert.equal(new URL(bob.page.url()).host, loginHost);
    assert.match(await bob.page.locator('h1').innerText(), /no licence/);
    assert.match(await bob.page.locator('dl').innerText(), /DB-ACCESS-NO-LICENCE/);
    assert.match(await bob.page.locator('.who').innerText(), /bob@contoso\.example/);
    await shot(bob.page, '07-bob-no-licence');
    await bob.context.close();

    const carol = await fresh();
    await signIn(carol.page, `${hrUrl}/`, 'carol', user('carol').password);
    assert.match(await carol.page.locator('h1').innerText(), /not been given access/);
    assert.match(await carol.page.locator('dl').innerText(), /DB-ACCESS-NOT-ASSIGNED/);
    await shot(carol.page, '08-carol-not-assigned');
    await carol.page.getByRole('button', { name: 'Sign in as someone else' }).click();
    assert.match(await carol.page.locator('h1').innerText(), /signed out/);
    await carol.context.close();
  });

  it('dave passes TOTP (code computed with otplib from dev.json)', async () => {
    const dave = user('dave');
    assert.ok(dave.totpSecret);
    const { context, page } = await fresh();
    await signIn(page, `${hrUrl}/`, 'dave', dave.password);
    assert.match(await page.locator('h1').innerText(), /verification code/);
    await shot(page, '09-dave-totp');
    await page.getByRole('textbox', { name: 'Verification code' }).fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    assert.match(await page.locator('[role=alert]').innerText(), /DB-SIGNIN-MFA-FAILED/);
    await shot(page, '10-dave-wrong-code');
    await page.getByRole('textbox', { name: 'Verification code' }).fill(await otp({ secret: dave.totpSecret! }));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${hrUrl}/`);
    assert.equal(await page.locator('h1').innerText(), 'Contoso HR');
    await context.close();
  });

  it('locks an account after repeated failures', async () => {
    const created = await stack.admin('POST', '/tenants/contoso/users', {
      upn: 'erin@contoso.example',
      displayName: 'Erin Evans',
      password: 'erin-Password-1',
    });
    assert.equal(created.status, 201);
    const { context, page } = await fresh();
    for (let i = 0; i < 5; i++) await signIn(page, `${hrUrl}/`, 'erin', `wrong-${i}`);
    assert.match(await page.locator('[role=alert]').innerText(), /locked[\s\S]*DB-SIGNIN-LOCKED-OUT/);
    // Even the right password is refused while the lock lasts.
    await signIn(page, `${hrUrl}/`, 'erin', 'erin-Password-1');
    assert.match(await page.locator('[role=alert]').innerText(), /locked[\s\S]*DB-SIGNIN-LOCKED-OUT/);
    await shot(page, '11-locked-out');
    await context.close();
  });

  it('refuses a tampered state, a tampered cookie and a replayed code', async () => {
    const { context, page } = await fresh();
    await page.goto(`${hrUrl}/`);
    const state = new URL(page.url()).searchParams.get('state')!;
    // Flip the app id inside the signed state: the signature no longer matches.
    const [payload, mac] = state.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), r: '/admin' }),
    ).toString('base64url');
    await page.goto(`https://${loginHost}/authorize?state=${forged}.${mac}`);
    assert.match(await page.locator('dl').innerText(), /DB-SIGNIN-STATE-INVALID/);
    await shot(page, '12-state-invalid');

    // Sign alice in properly, then tamper with her app cookie.
    await page.goto(`${hrUrl}/`);
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(user('alice').password);
    let callback = '';
    page.on('request', (r) => {
      if (r.url().includes('/.drawbridge/auth/callback')) callback = r.url();
    });
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${hrUrl}/`);
    const good = await appCookie(context, hrUrl);
    const value = good.slice(good.indexOf('=') + 1);
    const [id, sig] = value.split('.');
    const tampered = `${SESSION_COOKIE}=${id.slice(0, -2)}${id.endsWith('AA') ? 'BB' : 'AA'}.${sig}`;
    const res = await get(`${hrUrl}/`, tampered);
    assert.equal(res.status, 302, 'a tampered cookie is not a session');
    assert.equal(new URL(res.location!).host, loginHost);
    assert.equal((await get(`${hrUrl}/`, `${SESSION_COOKIE}=${id}.${sig.slice(0, -2)}xx`)).status, 302);
    // JSON clients get the code instead of a redirect.
    const api = await request(`${hrUrl}/echo`, {
      dispatcher: stack.agent,
      headers: { accept: 'application/json', cookie: tampered },
    });
    assert.equal(api.statusCode, 401);
    assert.equal(((await api.body.json()) as { error: { code: string } }).error.code, 'DB-SESSION-EXPIRED');

    // The one-time code is spent: replaying the callback (even in the same browser) is refused.
    assert.ok(callback, 'saw the callback');
    await page.goto(callback);
    assert.match(await page.locator('dl').innerText(), /DB-SIGNIN-STATE-INVALID/);
    await shot(page, '13-code-replayed');
    await context.close();
  });

  it('passkeys: frank registers one, then uses it as his second step and to sign in without a password; a cloned counter is refused', async () => {
    const created = await stack.admin<{ id: string }>('POST', '/tenants/contoso/users', {
      upn: 'frank@contoso.example',
      displayName: 'Frank Fischer',
      password: 'frank-Password-1',
    });
    assert.equal(created.status, 201);
    const groups = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants/contoso/user-groups');
    assert.equal(
      (
        await stack.admin(
          'PUT',
          `/tenants/contoso/user-groups/${groups.body.items.find((g) => g.name === 'HR')!.id}/members/${created.body.id}`,
        )
      ).status < 300,
      true,
    );
    assert.equal(
      (await stack.admin('POST', '/tenants/contoso/licences/basic/assignments', { type: 'user', id: created.body.id }))
        .status,
      201,
    );

    const { context, page } = await fresh();
    // A platform authenticator with user verification (fingerprint/PIN) that always succeeds.
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    });
    const loginOrigin = `https://${loginHost}`;

    await signIn(page, `${hrUrl}/`, 'frank', 'frank-Password-1');
    await page.waitForURL(`${hrUrl}/`);
    // Register from the sign-in host's home page.
    await page.goto(`${loginOrigin}/`);
    assert.match(await page.locator('dl').innerText(), /none yet/);
    await page.getByRole('link', { name: 'Add a passkey' }).click();
    assert.match(await page.locator('h1').innerText(), /Add a passkey/);
    await page.getByLabel('Name for this passkey').fill('Work laptop');
    await shot(page, '14-passkey-register');
    await page.getByRole('button', { name: 'Create a passkey' }).click();
    // The form posts to its own URL: wait for the answer's heading, not for a URL that is already current.
    await landed(page, /Your passkey is ready/);
    await shot(page, '15-passkey-added');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].rpId, 'apps.localhost', 'the RP id is the edge domain');
    assert.equal(credentials[0].isResidentCredential, true);
    await page.getByRole('link', { name: 'Continue' }).click();
    assert.match(await page.locator('dl').innerText(), /Work laptop/);
    await shot(page, '15b-signed-in-home');
    await page.getByRole('button', { name: 'Sign out' }).click();

    // Password, then the passkey as the second step.
    await signIn(page, `${hrUrl}/`, 'frank', 'frank-Password-1');
    assert.equal(new URL(page.url()).pathname, '/passkey');
    assert.match(await page.locator('h1').innerText(), /Use your passkey/);
    await shot(page, '16-passkey-second-step');
    await page.getByRole('button', { name: 'Continue with passkey' }).click();
    await page.waitForURL(`${hrUrl}/`);
    assert.equal(await page.locator('h1').innerText(), 'Contoso HR');
    await page.goto(`${hrUrl}/.drawbridge/auth/signout`);
    await page.getByRole('button', { name: 'Sign out' }).click();

    // Passwordless: the discoverable passkey names the user and verifies them.
    await page.goto(`${hrUrl}/`);
    await page.getByRole('link', { name: 'Sign in with a passkey' }).click();
    assert.match(await page.locator('h1').innerText(), /Sign in with a passkey/);
    await shot(page, '17-passkey-sign-in');
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForURL(`${hrUrl}/`);
    assert.equal(await page.locator('h1').innerText(), 'Contoso HR');

    // The stored signature counter followed the authenticator; a counter that goes backwards means a clone.
    const db = new DatabaseSync(path.join(stack.dir, 'edge', 'drawbridge.db'));
    try {
      const row = db.prepare('SELECT counter FROM dir_webauthn_credentials WHERE user_id = ?').get(created.body.id) as {
        counter: number;
      };
      const { credentials: after } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(row.counter, after[0].signCount);
      assert.ok(row.counter >= 2);
      db.prepare('UPDATE dir_webauthn_credentials SET counter = 1000000 WHERE user_id = ?').run(created.body.id);
    } finally {
      db.close();
    }
    await page.goto(`${hrUrl}/.drawbridge/auth/signout`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.goto(`${hrUrl}/`);
    await page.getByRole('link', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.locator('[role=alert]', { hasText: 'DB-SIGNIN-PASSKEY-FAILED' }).first().waitFor();
    assert.match(
      await page.locator('[role=alert]').first().innerText(),
      /passkey could not be verified[\s\S]*DB-SIGNIN-PASSKEY-FAILED/,
    );
    await shot(page, '18-passkey-refused');
    await context.close();
  });

  it('a tenant that requires MFA lets a new user enrol a passkey instead of TOTP, with recovery codes', async () => {
    assert.equal((await stack.admin('PUT', '/tenants/contoso/identity-settings', { requireMfa: true })).status, 200);
    try {
      const created = await stack.admin<{ id: string }>('POST', '/tenants/contoso/users', {
        upn: 'gina@contoso.example',
        displayName: 'Gina Green',
        password: 'gina-Password-1',
      });
      assert.equal(created.status, 201);
      const groups = await stack.admin<{ items: { id: string; name: string }[] }>(
        'GET',
        '/tenants/contoso/user-groups',
      );
      await stack.admin(
        'PUT',
        `/tenants/contoso/user-groups/${groups.body.items.find((g) => g.name === 'HR')!.id}/members/${created.body.id}`,
      );
      await stack.admin('POST', '/tenants/contoso/licences/premium/assignments', { type: 'user', id: created.body.id });
      const { context, page } = await fresh();
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: {
          protocol: 'ctap2',
          transport: 'usb',
          hasResidentKey: true,
          hasUserVerification: true,
          isUserVerified: true,
          automaticPresenceSimulation: true,
        },
      });
      await signIn(page, `${hrUrl}/`, 'gina', 'gina-Password-1');
      assert.match(await page.locator('h1').innerText(), /Set up two-step verification/);
      assert.ok(await page.locator('img.qr').isVisible());
      await shot(page, '19-enrol-required');
      await page.getByRole('link', { name: 'Use a passkey instead' }).click();
      await page.getByRole('button', { name: 'Create a passkey' }).click();
      await landed(page, /Save your recovery codes/);
      assert.equal(await page.locator('.codes li').count(), 10);
      await shot(page, '20-recovery-codes');
      await page.getByRole('link', { name: /continue/ }).click();
      await page.waitForURL(`${hrUrl}/`);
      assert.equal(await page.locator('h1').innerText(), 'Contoso HR');
      const detail = await stack.admin<{ mfa?: unknown }>('GET', `/tenants/contoso/users/${created.body.id}`);
      assert.match(JSON.stringify(detail.body), /webauthn"?:\s*true/);
      await context.close();
    } finally {
      await stack.admin('PUT', '/tenants/contoso/identity-settings', { requireMfa: false });
    }
  });

  it('the sign-in log shows each attempt with its code', async () => {
    const hrId = (await stack.admin<{ id: string }>('GET', '/tenants/contoso/apps/hr')).body.id;
    const entries = await signinLog('');
    const find = (username: string, pred: (e: LogEntry) => boolean) =>
      entries.find((e) => e.username === username && pred(e));
    const alice = 'alice@contoso.example';
    assert.ok(
      find(alice, (e) => e.event === 'signin' && e.code === 'DB-SIGNIN-BAD-CREDENTIALS'),
      "alice's wrong password",
    );
    assert.ok(find(alice, (e) => e.event === 'signin' && e.result === 'success' && e.authMethod === 'password'));
    assert.ok(find(alice, (e) => e.event === 'access' && e.result === 'success' && e.appId === hrId));
    assert.ok(
      find(alice, (e) => e.event === 'access' && e.result === 'success' && e.appId === payroll.id),
      'SSO to payroll is logged too',
    );
    assert.ok(find(alice, (e) => e.event === 'signout'));
    assert.ok(
      find(
        'bob@contoso.example',
        (e) => e.event === 'access' && e.result === 'denied' && e.code === 'DB-ACCESS-NO-LICENCE',
      ),
    );
    assert.ok(
      find(
        'carol@contoso.example',
        (e) => e.event === 'access' && e.result === 'denied' && e.code === 'DB-ACCESS-NOT-ASSIGNED',
      ),
    );
    assert.ok(find('dave@contoso.example', (e) => e.event === 'signin' && e.code === 'DB-SIGNIN-MFA-REQUIRED'));
    assert.ok(find('dave@contoso.example', (e) => e.event === 'mfa' && e.code === 'DB-SIGNIN-MFA-FAILED'));
    assert.ok(
      find('dave@contoso.example', (e) => e.event === 'mfa' && e.result === 'success' && e.mfaMethod === 'totp'),
    );
    assert.ok(
      find('dave@contoso.example', (e) => e.event === 'access' && e.result === 'success' && e.mfaMethod === 'totp'),
    );
    assert.ok(find('erin@contoso.example', (e) => e.code === 'DB-SIGNIN-LOCKED-OUT'));
    const frank = 'frank@contoso.example';
    assert.ok(
      entries.some((e) => e.event === 'mfa-enrol' && e.result === 'success' && e.mfaMethod === 'webauthn'),
      'passkey registration',
    );
    assert.ok(
      find(frank, (e) => e.event === 'mfa' && e.result === 'success' && e.mfaMethod === 'webauthn'),
      'passkey as second step',
    );
    assert.ok(
      find(frank, (e) => e.event === 'signin' && e.result === 'success' && e.authMethod === 'webauthn'),
      'passwordless',
    );
    assert.ok(
      find(frank, (e) => e.event === 'signin' && e.code === 'DB-SIGNIN-PASSKEY-FAILED'),
      'the cloned counter',
    );
    for (const e of entries) {
      assert.equal(e.clientIp, '127.0.0.1');
      assert.ok(e.correlationId);
    }
    assert.ok(
      entries.some((e) => /Chrome/.test(e.userAgent ?? '')),
      "the browser's user agent is recorded",
    );
    // Filters work over the API.
    const denied = await signinLog('code=DB-ACCESS-NO-LICENCE');
    assert.ok(denied.length >= 1 && denied.every((e) => e.code === 'DB-ACCESS-NO-LICENCE'));
  });
});
