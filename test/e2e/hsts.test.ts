import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { startDevStack, url, type DevStack } from '../helpers/dev-stack.ts';

/** HSTS on the edge's own hosts (sign-in, portal, enrollment), never on app hosts: apps keep their own setting. */
describe('Strict-Transport-Security', { timeout: 240_000 }, () => {
  let stack: DevStack;
  let loginOrigin: string;
  let tunnelOrigin: string;
  before(async () => {
    stack = await startDevStack();
    const { port } = new URL(stack.dev.edgeUrl);
    loginOrigin = `https://login.apps.localhost:${port}`;
    tunnelOrigin = `https://tunnel.apps.localhost:${port}`;
  });
  after(async () => {
    await stack?.stop();
  });

  async function hsts(
    href: string,
    init: { method?: string; headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ status: number; hsts: unknown }> {
    const res = await request(href, {
      dispatcher: stack.agent,
      method: (init.method ?? 'GET') as 'GET',
      headers: init.headers,
      body: init.body,
    });
    await res.body.dump();
    return { status: res.statusCode, hsts: res.headers['strict-transport-security'] };
  }

  it('every answer of the sign-in host carries it: pages, redirects, error pages', async () => {
    const cases: [string, Parameters<typeof hsts>[1], number][] = [
      ['/', {}, 200], // the portal's sign-in page
      ['/login', {}, 302], // a redirect
      ['/no-such-page', {}, 400], // the sign-in host's error page
      [
        '/login',
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=x' },
        403,
      ], // refused form (no CSRF token)
      ['/', { method: 'DELETE' }, 405],
      ['/.well-known/jwks.json', {}, 200],
    ];
    for (const [pathname, init, status] of cases) {
      const res = await hsts(`${loginOrigin}${pathname}`, init);
      assert.equal(res.status, status, `${init?.method ?? 'GET'} ${pathname}`);
      assert.equal(res.hsts, 'max-age=31536000', `${init?.method ?? 'GET'} ${pathname}`);
    }
  });

  it('the tunnel host (enrollment) carries it too', async () => {
    const res = await hsts(`${tunnelOrigin}/`);
    assert.equal(res.status, 404);
    assert.equal(res.hsts, 'max-age=31536000');
  });

  it("app hosts do not: neither an app's page nor its redirect to sign-in", async () => {
    const page = await hsts(url(stack, 'sample', '/'));
    assert.equal(page.status, 200);
    assert.equal(page.hsts, undefined);
    const redirect = await hsts(url(stack, 'hr', '/'));
    assert.equal(redirect.status, 302);
    assert.equal(redirect.hsts, undefined);
  });
});
