/**
 * The admin console (admin.<domain>) in headless Chromium against `drawbridge dev`: an administrator of the
 * directory signs in through the sign-in host, publishes an app, watches a connector go red when it is killed and
 * green when it returns, and reads the sign-in report with its chart. Every page is screenshotted into
 * test-results/screenshots/console-*.png, and checked by axe-core (no serious or critical violation) and by hand for
 * landmarks, labels and a working skip link. Each directory role (one administrator per role, seeded by dev) sees
 * and does only what it may: the API's 403 code shows on the page.
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { request } from 'undici';
import { startDevStack, type DevStack } from '../helpers/dev-stack.ts';
import { CHROMIUM, launchChromium } from '../helpers/chromium.ts';

const SHOTS = 'test-results/screenshots';
const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
/** The tenant admin dev seeds (dev.json admins), set in before(). */
const ADMIN = { upn: '', password: '' };

let stack: DevStack;
let browser: Browser;
let consoleUrl: string;
const restarted: ChildProcess[] = [];

const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/console-${name}.png`, fullPage: true });

async function fresh(): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 860 } });
  return context.newPage();
}

/** Runs in the page (a string: the project's TypeScript has no DOM types). */
const A11Y_CHECKS = `(() => {
  const out = [];
  if (document.querySelectorAll('main').length !== 1) out.push('one <main>');
  if (!document.querySelector('header')) out.push('a banner');
  for (const nav of document.querySelectorAll('nav')) if (!nav.getAttribute('aria-label')) out.push('a labelled <nav>');
  if (!document.documentElement.lang) out.push('html lang');
  if (!document.title) out.push('a title');
  const skip = document.querySelector('a.skip');
  if (!skip || skip.getAttribute('href') !== '#main') out.push('a skip link to #main');
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if ((el.labels ? el.labels.length : 0) === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby')) out.push('a label for ' + el.outerHTML.slice(0, 80));
  }
  for (const b of document.querySelectorAll('button, a[href]')) if (!(b.textContent || '').trim() && !b.getAttribute('aria-label')) out.push('a name for ' + b.outerHTML.slice(0, 80));
  for (const t of document.querySelectorAll('table')) if (!t.querySelector('caption') && !t.getAttribute('aria-label')) out.push('a table caption');
  for (const s of document.querySelectorAll('svg[role=img]')) if (!s.getAttribute('aria-labelledby') && !s.getAttribute('aria-label')) out.push('an accessible name for a chart');
  const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
  const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (dup.length) out.push('unique ids (' + dup.join(', ') + ')');
  return out;
})()`;

/** axe-core in the page (through the DevTools protocol, which the console's CSP does not govern): serious and critical violations. */
async function axeViolations(page: Page): Promise<string[]> {
  if ((await page.evaluate('typeof window.axe')) !== 'object') await page.evaluate(await AXE_SOURCE);
  return (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')))`)) as string[];
}

/** axe-core, and by hand what it cannot judge: landmarks, a label on every field, names on buttons, a skip link that works. */
async function checkAccessible(page: Page): Promise<void> {
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `${page.url()}: axe-core finds ${violations.join('; ')}`);
  const problems = (await page.evaluate(A11Y_CHECKS)) as string[];
  assert.deepEqual(problems, [], `${page.url()} lacks: ${problems.join('; ')}`);
  // The first Tab lands on the skip link, which shows itself and moves focus to main.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate('document.activeElement && document.activeElement.className'), 'skip');
  await page.evaluate('document.activeElement && document.activeElement.blur()');
}

async function waitFor(page: Page, what: string, check: () => Promise<boolean>, ms = 45_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) {
      await shot(page, `timeout-${what.replace(/\W+/g, '-')}`);
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function signInAsAdmin(page: Page, landing = `/t/contoso/`, who = ADMIN): Promise<void> {
  await page.goto(`${consoleUrl}/`);
  assert.equal(new URL(page.url()).pathname, '/signin');
  // With several tenants the page asks which one.
  if (await page.getByLabel('Tenant', { exact: true }).count())
    await page.getByLabel('Tenant', { exact: true }).fill('contoso');
  await page.getByRole('button', { name: 'Sign in with your account' }).click();
  await page.waitForURL((u) => u.host.startsWith('login.'));
  await page.getByLabel('User name').fill(who.upn);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.pathname === landing);
}

describe('admin console in a real browser', { skip: !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}` }, () => {
  before(async () => {
    await mkdir(SHOTS, { recursive: true });
    stack = await startDevStack();
    consoleUrl = stack.dev.consoleUrl.replace(/\/$/, '');
    assert.equal(consoleUrl, `https://admin.apps.localhost:${stack.publicPort}`);
    // dev seeds one administrator per directory role; the tenant admin is a member of "Drawbridge Admins".
    assert.deepEqual(stack.dev.admins.map((a) => a.role).sort(), [
      'app-admin',
      'connector-operator',
      'security-reader',
      'tenant-admin',
    ]);
    const tina = stack.dev.admins.find((a) => a.role === 'tenant-admin')!;
    Object.assign(ADMIN, { upn: `${tina.username}@contoso.example`, password: tina.password });
    browser = await launchChromium();
  });
  after(async () => {
    for (const child of restarted) if (child.exitCode === null) child.kill('SIGKILL');
    await browser?.close();
    await stack?.stop();
  });

  it('a directory user outside Drawbridge Admins is refused with a code, after a real sign-in', async () => {
    const page = await fresh();
    await page.goto(`${consoleUrl}/signin`);
    await checkAccessible(page);
    await shot(page, '00-signin');
    await page.getByRole('button', { name: 'Sign in with your account' }).click();
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password').fill(stack.dev.users.find((u) => u.username === 'alice')!.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
    assert.match(await page.content(), /DB-CONSOLE-NOT-ADMIN/);
    await shot(page, '01-not-an-admin');
    // Her browser holds no console session: the console still sends her to sign in.
    const cookies = await page.context().cookies(consoleUrl);
    assert.equal(
      cookies.find((c) => c.name === '__Host-drawbridge-session'),
      undefined,
    );
    await page.context().close();
  });

  it('forms without the CSRF token are refused', async () => {
    const res = await request(`${consoleUrl}/t/contoso/apps/publish`, {
      method: 'POST',
      dispatcher: stack.agent,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=evil&internalUrl=http://x',
    });
    const text = await res.body.text();
    assert.equal(res.statusCode, 403);
    assert.match(text, /DB-SIGNIN-CSRF/);
  });

  it('an administrator signs in through the directory, publishes an app, and sees it served', async () => {
    const page = await fresh();
    await signInAsAdmin(page);
    const session = (await page.context().cookies(consoleUrl)).find((c) => c.name === '__Host-drawbridge-session')!;
    assert.ok(session, 'a console session cookie');
    assert.equal(session.domain, `admin.apps.localhost`, 'host-only on the console host');
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.match(await page.locator('header').innerText(), /tina@contoso\.example \(tenant admin\)/);
    await checkAccessible(page);
    await shot(page, '02-overview');

    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Apps' }).click();
    const sample = await stack.admin<{ internalUrl: string }>('GET', '/tenants/contoso/apps/sample');
    await page.getByLabel('Name').fill('wiki');
    await page.getByLabel('Internal URL').fill(sample.body.internalUrl);
    await page.getByLabel('Pre-authentication').selectOption('passthrough');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.waitForURL(/\/apps\?done=app-published/);
    assert.match(await page.locator('[role=status]').innerText(), /The app is published/);
    const row = page.locator('table tr', { hasText: 'wiki' });
    assert.match(await row.innerText(), /wiki-contoso\.apps\.localhost/);
    await checkAccessible(page);
    await shot(page, '03-apps-published');
    // Live through the edge and a connector.
    const deadline = Date.now() + 30_000;
    let status = 0;
    while (Date.now() < deadline) {
      const res = await request(`https://wiki-contoso.apps.localhost:${stack.publicPort}/echo`, {
        dispatcher: stack.agent,
      });
      await res.body.text();
      status = res.statusCode;
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal(status, 200, 'the published app answers through the edge');
    const audit = await stack.admin<{ items: { action: string; actor: string }[] }>(
      'GET',
      '/tenants/contoso/audit-log?action=app.created',
    );
    assert.equal(audit.body.items.length >= 1, true);
    // The console acted with a token minted for her role: the audit log names her.
    assert.match(audit.body.items[0].actor, /^tina@contoso\.example \(atk_[0-9a-f]+\)$/);

    // An API refusal shows its code on the page: the same name again.
    await page.getByLabel('Name').fill('wiki');
    await page.getByLabel('Internal URL').fill(sample.body.internalUrl);
    await page.getByRole('button', { name: 'Publish' }).click();
    assert.match(await page.locator('[role=alert]').innerText(), /DB-ADMIN-/);
    await shot(page, '04-apps-error');

    await page.locator('table a', { hasText: 'wiki' }).first().click();
    await checkAccessible(page);
    await shot(page, '05-app-edit');

    // Test connection: a connector of the group requests the internal URL now, and the page shows its answer.
    await page.getByRole('button', { name: 'Test connection to wiki' }).click();
    await page.waitForLoadState();
    const answer = await page.locator('#test-result').innerText();
    assert.match(answer, /dev-connector-\d reached http:\/\/127\.0\.0\.1:\d+\/?: HTTP 200 in \d+ ms/, answer);
    await checkAccessible(page);
    await shot(page, '05b-app-test-connection');
    // A backend nobody listens on: the connector's error, not a status.
    const closed = await stack.admin<{ id: string }>('POST', '/tenants/contoso/apps', {
      name: 'nowhere',
      internalUrl: 'http://127.0.0.1:1/',
      groupId: (await stack.admin<{ groupId: string }>('GET', '/tenants/contoso/apps/sample')).body.groupId,
      preAuth: 'passthrough',
    });
    assert.equal(closed.status, 201, JSON.stringify(closed.body));
    await page.goto(`${consoleUrl}/t/contoso/apps/${closed.body.id}`);
    await page.getByRole('button', { name: 'Test connection to nowhere' }).click();
    await page.waitForLoadState();
    assert.match(
      await page.locator('#test-result').innerText(),
      /could not reach http:\/\/127\.0\.0\.1:1\/: ECONNREFUSED/,
    );
    await shot(page, '05c-app-test-connection-refused');
    await stack.admin('DELETE', `/tenants/contoso/apps/${closed.body.id}`);
    await page.context().close();
  });

  it('a killed connector goes red on the overview, and green when it returns', async () => {
    const page = await fresh();
    await signInAsAdmin(page);
    const victim = stack.dev.connectors[0];
    const connectorName = 'dev-connector-1';
    const badgeOf = async () => (await page.locator('#health li', { hasText: connectorName }).innerText()).trim();
    await waitFor(page, 'both healthy', async () => /healthy/.test(await badgeOf()));
    process.kill(victim.pid, 'SIGKILL');
    // No reload: the page refreshes its live region by itself.
    await waitFor(page, 'connector red', async () => /disconnected/.test(await badgeOf()));
    assert.match(await page.locator('#health').innerText(), /at risk/);
    assert.equal(await page.locator('#health .badge.bad', { hasText: 'disconnected' }).count(), 1);
    await shot(page, '06-connector-down');

    const child = fork(
      MAIN,
      [
        'connector',
        'run',
        '--state-dir',
        path.join(stack.dir, 'connector-1'),
        '--drain-seconds',
        '2',
        '--metrics-port',
        '0',
      ],
      { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
    );
    restarted.push(child);
    await waitFor(page, 'connector green', async () => /healthy/.test(await badgeOf()));
    await waitFor(page, 'group healthy', async () => !/at risk/.test(await page.locator('#health').innerText()));
    await shot(page, '07-connector-back');

    await page.getByRole('link', { name: 'Connectors' }).click();
    assert.match(await page.locator('main').innerText(), /RTT/);
    // Renew a certificate through the console: the connector makes a new key, the edge issues, tunnels redial.
    const before = await stack.admin<{ certSerial?: string; certificateSerial?: string }>(
      'GET',
      `/tenants/contoso/connectors/${stack.dev.connectors[1].id}`,
    );
    await page.getByRole('button', { name: 'Renew certificate of dev-connector-2' }).click();
    assert.match(await page.locator('[role=status]').first().innerText(), /new certificate/);
    const afterRenew = await stack.admin<Record<string, unknown>>(
      'GET',
      `/tenants/contoso/connectors/${stack.dev.connectors[1].id}`,
    );
    assert.notDeepEqual(afterRenew.body, before.body, 'the stored connector changed (its certificate)');
    await checkAccessible(page);
    await shot(page, '08-connectors');
    await page.context().close();
  });

  it('the sign-in report shows a chart and its table; every other page renders', async () => {
    const page = await fresh();
    await signInAsAdmin(page);
    const nav = page.getByRole('navigation', { name: 'Console sections' });
    await nav.getByRole('link', { name: 'Security reports' }).click();
    const chart = page.locator('svg#chart-signins');
    assert.equal(await chart.getAttribute('role'), 'img');
    assert.match((await page.locator('#chart-signins-t').textContent()) ?? '', /Sign-ins per day/);
    assert.ok((await chart.locator('rect').count()) >= 1, 'at least one bar');
    const table = await page.locator('#table-signins').innerText();
    assert.match(table, /success/);
    await checkAccessible(page);
    await shot(page, '09-reports');

    await nav.getByRole('link', { name: 'Sign-in log' }).click();
    await page.getByLabel('Result').selectOption('denied');
    await page.getByRole('button', { name: 'Filter' }).click();
    assert.match(await page.locator('#signin-log').innerText(), /DB-CONSOLE-NOT-ADMIN/);
    await checkAccessible(page);
    await shot(page, '10-signin-log');
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Export CSV' }).click();
    const file = await download;
    assert.match(file.suggestedFilename(), /^signin-log-contoso-.*\.csv$/);

    await nav.getByRole('link', { name: 'Conditional access' }).click();
    await page.getByLabel('User', { exact: true }).selectOption('alice@contoso.example');
    await page.getByLabel('App', { exact: true }).selectOption({ label: 'hr' });
    await page.getByLabel('Client address').fill('127.0.0.70');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    assert.match(await page.locator('#what-if-result').innerText(), /block/i);
    await checkAccessible(page);
    await shot(page, '11-policies-what-if');

    for (const [name, file] of [
      ['Users', '12-users'],
      ['Groups', '13-groups'],
      ['Licences', '14-licences'],
      ['Assignments', '15-assignments'],
      ['Audit log', '16-audit'],
    ] as const) {
      await nav.getByRole('link', { name, exact: true }).click();
      assert.equal(await page.locator('h1').innerText(), name);
      await checkAccessible(page);
      await shot(page, file);
    }
    assert.match(await page.locator('main').innerText(), /app\.created/);

    // The main actions of the directory pages, through their forms.
    await nav.getByRole('link', { name: 'Assignments' }).click();
    assert.match(await page.locator('table', { hasText: 'Assigned to hr' }).innerText(), /group HR/);
    await page.locator('select#as-p').selectOption({ label: 'group Sales' });
    await page.getByRole('button', { name: 'Assign' }).click();
    await page.waitForURL(/done=assigned/);
    assert.match(await page.locator('table', { hasText: 'Assigned to hr' }).innerText(), /group Sales/);
    await nav.getByRole('link', { name: 'Licences' }).click();
    assert.match(await page.locator('table', { hasText: 'Assigned to' }).innerText(), /user alice@contoso\.example/);
    await nav.getByRole('link', { name: 'Users' }).click();
    await page.getByLabel('User name (UPN)').fill('erin@contoso.example');
    await page.getByLabel('Display name').fill('Erin Example');
    await page.getByLabel('Password').fill('Erin-Demo-2024');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.waitForURL(/done=user-created/);
    assert.match(await page.locator('main table').innerText(), /erin@contoso\.example/);
    await page.context().close();
  });

  it('each directory role sees and does only what it may; the API refuses the rest with its code', async () => {
    const as = (role: string) => {
      const a = stack.dev.admins.find((x) => x.role === role)!;
      return { upn: `${a.username}@contoso.example`, password: a.password };
    };
    const navLinks = async (page: Page) =>
      (await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link').allInnerTexts()).map((t) =>
        t.trim(),
      );

    // Security reader: reads the security pages; any write is the API's 403 with its code, on the page.
    let page = await fresh();
    await signInAsAdmin(page, '/t/contoso/', as('security-reader'));
    assert.match(await page.locator('header').innerText(), /sam@contoso\.example \(security reader\)/);
    assert.deepEqual(await navLinks(page), [
      'Overview',
      'Conditional access',
      'Sign-in log',
      'Security reports',
      'Audit log',
    ]);
    assert.match(await page.locator('main').innerText(), /not available to your role \(DB-ADMIN-FORBIDDEN\)/);
    await checkAccessible(page);
    await shot(page, '20-security-reader-overview');
    await page
      .getByRole('navigation', { name: 'Console sections' })
      .getByRole('link', { name: 'Conditional access' })
      .click();
    const policy = page.locator('form[action*="/state"]').first();
    await policy.locator('select').selectOption('off');
    await policy.getByRole('button').click();
    await page.waitForLoadState();
    const refusal = await page.locator('[role=alert]').innerText();
    assert.match(refusal, /DB-ADMIN-FORBIDDEN/);
    assert.match(refusal, /security-reader may not policies\.write/);
    await checkAccessible(page);
    await shot(page, '21-security-reader-refused');
    for (const [name, file] of [
      ['Sign-in log', '21b-security-reader-signin-log'],
      ['Security reports', '21c-security-reader-reports'],
      ['Audit log', '21d-security-reader-audit'],
    ] as const) {
      await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name, exact: true }).click();
      assert.equal(await page.locator('h1').innerText(), name);
      await checkAccessible(page);
      await shot(page, file);
    }
    const res = await page.goto(`${consoleUrl}/t/contoso/users`);
    assert.equal(res?.status(), 403);
    assert.match(await page.locator('[role=alert]').innerText(), /DB-ADMIN-FORBIDDEN/);
    const policies = await stack.admin<{ items: { state: string }[] }>('GET', '/tenants/contoso/policies');
    assert.ok(
      policies.body.items.every((p) => p.state !== 'off'),
      'nothing changed',
    );
    await page.context().close();

    // Connector operator: connectors only.
    page = await fresh();
    await signInAsAdmin(page, '/t/contoso/', as('connector-operator'));
    assert.deepEqual(await navLinks(page), ['Overview', 'Connectors']);
    assert.match(await page.locator('#health').innerText(), /dev-connector-1/);
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Connectors' }).click();
    assert.match(await page.locator('main').innerText(), /dev-connector-2/);
    await checkAccessible(page);
    await shot(page, '22-connector-operator');
    assert.equal((await page.goto(`${consoleUrl}/t/contoso/policies`))?.status(), 403);
    await page.context().close();

    // App admin: the apps assigned to them (HR), not the others; publishing a new app is the tenant admin's.
    page = await fresh();
    await signInAsAdmin(page, '/t/contoso/', as('app-admin'));
    assert.deepEqual(await navLinks(page), ['Overview', 'Apps', 'Assignments', 'Sign-in log']);
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Apps' }).click();
    const apps = await page.locator('main table').first().innerText();
    assert.match(apps, /\bhr\b/);
    assert.doesNotMatch(apps, /\bsample\b/);
    await checkAccessible(page);
    await shot(page, '23-app-admin');
    assert.match(
      await page.locator('main').innerText(),
      /Publishing an app is not available to your role \(DB-ADMIN-FORBIDDEN\)/,
    );
    // Their app's page; unpublishing it is the tenant admin's (apps.publish): the API's 403 on the page.
    await page.locator('main table a', { hasText: 'hr' }).first().click();
    await checkAccessible(page);
    // Testing its connection is theirs (apps.write on their app).
    await page.getByRole('button', { name: 'Test connection to hr' }).click();
    await page.waitForLoadState();
    assert.match(await page.locator('#test-result').innerText(), /HTTP \d{3} in \d+ ms/);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Unpublish hr' }).click();
    await page.waitForLoadState();
    assert.match(await page.locator('[role=alert]').innerText(), /DB-ADMIN-FORBIDDEN/);
    assert.equal((await stack.admin('GET', '/tenants/contoso/apps/hr')).status, 200, 'still published');
    // The sign-in log of their app (the API wants one app named: the console names theirs).
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Sign-in log' }).click();
    assert.equal(await page.locator('h1').innerText(), 'Sign-in log');
    assert.equal(
      await page.locator('select#sl-app').inputValue(),
      (await stack.admin<{ id: string }>('GET', '/tenants/contoso/apps/hr')).body.id,
    );
    await checkAccessible(page);
    await shot(page, '24-app-admin-signin-log');
    // Another app, even by its id, reads as missing.
    const other = await stack.admin<{ id: string }>('GET', '/tenants/contoso/apps/sample');
    assert.equal((await page.goto(`${consoleUrl}/t/contoso/apps/${other.body.id}`))?.status(), 404);
    await page.context().close();
  });

  it('the bootstrap token signs in on the sign-in page; a wrong one is refused', async () => {
    const page = await fresh();
    await page.goto(`${consoleUrl}/signin`);
    await page.getByLabel('Admin token', { exact: true }).fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in with the token' }).click();
    assert.match(await page.locator('[role=alert]').innerText(), /DB-ADMIN-UNAUTHORIZED/);
    await page.getByLabel('Admin token', { exact: true }).fill(stack.dev.adminToken);
    await page.getByRole('button', { name: 'Sign in with the token' }).click();
    await page.waitForURL(`${consoleUrl}/t/contoso/`);
    assert.match(await page.locator('header').innerText(), /bootstrap admin/);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${consoleUrl}/signin`);
    await page.goto(`${consoleUrl}/t/contoso/`);
    assert.equal(new URL(page.url()).pathname, '/signin');
    await page.context().close();
  });
  it('conditional access applies to the console: a policy requiring MFA for admins sends the sign-in to MFA', async () => {
    const policy = await stack.admin<{ id: string }>('POST', '/tenants/contoso/policies', {
      name: 'MFA for console admins',
      conditions: { users: { include: { groups: ['Drawbridge Admins'] } }, apps: 'all' },
      grant: { requireMfa: true },
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
    try {
      const page = await fresh();
      await signInAsAdmin(page, '/mfa/enroll');
      const url = new URL(page.url());
      assert.equal(url.host, `login.apps.localhost:${stack.publicPort}`);
      assert.match(url.pathname, /^\/mfa/, 'the admin, who has no second factor, is sent to register one');
      await shot(page, '17-console-needs-mfa');
      await page.context().close();
      const log = await stack.admin<{ items: { appId: string | null; code: string | null; result: string }[] }>(
        'GET',
        '/tenants/contoso/signin-log?event=access&limit=5',
      );
      assert.ok(
        log.body.items.some((e) => e.appId === 'console' && e.code === 'DB-CA-MFA-REQUIRED'),
        JSON.stringify(log.body.items),
      );
    } finally {
      await stack.admin('DELETE', `/tenants/contoso/policies/${policy.body.id}`);
    }
  });

  it('a directory administrator cannot open another tenant', async () => {
    const other = await stack.admin('POST', '/tenants', { name: 'fabrikam', displayName: 'Fabrikam' });
    assert.equal(other.status, 201);
    const page = await fresh();
    await signInAsAdmin(page);
    const res = await page.goto(`${consoleUrl}/t/fabrikam/apps`);
    assert.equal(res?.status(), 403);
    assert.match(await page.content(), /DB-CONSOLE-NOT-ADMIN/);
    await page.context().close();
  });
});
