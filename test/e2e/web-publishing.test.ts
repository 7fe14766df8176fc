/**
 * Issue 14, items 3–5, through `drawbridge dev`: link translation on the sample app's /links page (chunked, gzip,
 * URLs split across chunks), HSTS per app, the plain-HTTP port's redirect, and the app session cookie's settings.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { request } from 'undici';
import { startDevStack, url, type DevStack } from '../helpers/dev-stack.ts';
import { APP_COOKIE } from '../../src/edge/signin/cookies.ts';
import { Client, formValue, type Response } from './identity-harness.ts';

type DevJsonMore = DevStack['dev'] & {
  sampleApps: { name: string; internalUrl: string }[];
  users: { username: string; password: string }[];
};

describe('web publishing: link translation, HSTS, HTTP redirect, session cookie', { timeout: 300_000 }, () => {
  let stack: DevStack;
  let dev: DevJsonMore;
  const appId: Record<string, string> = {};
  before(async () => {
    stack = await startDevStack();
    dev = stack.dev as DevJsonMore;
    const apps = await stack.admin<{ items: { id: string; name: string }[] }>('GET', `/tenants/${dev.tenant}/apps`);
    for (const a of apps.body.items) appId[a.name] = a.id;
  });
  after(async () => {
    await stack?.stop();
  });

  const internalUrlOf = (name: string): string => dev.sampleApps.find((a) => a.name === name)!.internalUrl;
  const externalUrlOf = (name: string): string => dev.apps.find((a) => a.name === name)!.externalUrl;

  async function patchApp(name: string, body: Record<string, unknown>): Promise<void> {
    const res = await stack.admin('PATCH', `/tenants/${dev.tenant}/apps/${appId[name]}`, body);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  /** The edge applies a change once its routing table reloads (store change event): wait for it, not for a fixed time. */
  async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("the sample app's /links page comes back with every internal link translated, gzip and chunked, URLs split across chunks", async () => {
    const internal = { sample: internalUrlOf('sample'), hr: internalUrlOf('hr') };
    const external = { sample: externalUrlOf('sample'), hr: externalUrlOf('hr') };
    // What the app sends: gzip, chunked, in several parts (each cut in the middle of a URL).
    const direct = await request(`${internal.sample}/links`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(direct.headers['content-encoding'], 'gzip');
    assert.equal(direct.headers['transfer-encoding'], 'chunked');
    const original = gunzipSync(Buffer.from(await direct.body.arrayBuffer())).toString();
    for (const base of Object.values(internal))
      assert.ok(original.includes(`${base}/echo`), `the page links to ${base}`);

    const res = await request(url(stack, 'sample', '/links'), {
      dispatcher: stack.agent,
      headers: { 'accept-encoding': 'gzip' },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-encoding'], 'gzip', 're-encoded in the coding it came in');
    assert.equal(res.headers['content-length'], undefined);
    const body = Buffer.from(await res.body.arrayBuffer());
    assert.deepEqual([body[0], body[1]], [0x1f, 0x8b]);
    const translated = gunzipSync(body).toString();
    const expected = original
      .replaceAll(internal.sample, external.sample)
      .replaceAll(internal.hr, external.hr)
      .replaceAll(internal.sample.replaceAll('/', '\\/'), external.sample.replaceAll('/', '\\/'))
      .replaceAll(internal.hr.replaceAll('/', '\\/'), external.hr.replaceAll('/', '\\/'));
    assert.notEqual(expected, original);
    assert.equal(translated, expected);
    assert.ok(!translated.includes('127.0.0.1'), 'no internal address is left on the page');
    // Headers: the Link header names both apps' external URLs.
    assert.equal(
      res.headers.link,
      `<${external.sample}/echo?preload=1>; rel=preload; as=fetch, <${external.hr}/echo?preload=1>; rel=preload; as=fetch`,
    );

    // Uncompressed too; and a non-text body keeps its bytes and its length.
    const plain = await request(url(stack, 'sample', '/links'), { dispatcher: stack.agent });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(await plain.body.text(), expected);
    const bytes = await request(url(stack, 'sample', '/bytes/1000'), { dispatcher: stack.agent });
    assert.equal(bytes.headers['content-length'], '1000');
    assert.equal((await bytes.body.arrayBuffer()).byteLength, 1000);

    // Body translation off: the page comes back as the app wrote it.
    await patchApp('sample', { linkTranslation: { body: false } });
    await eventually(async () => {
      const r = await request(url(stack, 'sample', '/links'), { dispatcher: stack.agent });
      return (await r.body.text()).includes(internal.sample);
    }, 'body translation off');
    await patchApp('sample', { linkTranslation: { body: true } });
  });

  it('HSTS only on an app that enables it, with its max-age and includeSubDomains', async () => {
    const hsts = async (name: string, pathname: string): Promise<unknown> => {
      const r = await request(url(stack, name, pathname), { dispatcher: stack.agent });
      await r.body.dump();
      return r.headers['strict-transport-security'];
    };
    assert.equal(await hsts('sample', '/echo'), undefined, 'off by default');
    await patchApp('sample', { hsts: { maxAge: 600, includeSubDomains: true } });
    await eventually(async () => (await hsts('sample', '/echo')) !== undefined, 'HSTS on the sample app');
    assert.equal(await hsts('sample', '/echo'), 'max-age=600; includeSubDomains');
    assert.equal(await hsts('sample', '/no-such-page'), 'max-age=600; includeSubDomains', "the app's own 404 too");
    assert.equal(await hsts('hr', '/'), undefined, 'not on another app');
    // A pre-authenticated app's redirect to sign-in carries it too.
    await patchApp('hr', { hsts: { maxAge: 300 } });
    await eventually(async () => (await hsts('hr', '/')) !== undefined, 'HSTS on the HR app');
    assert.equal(await hsts('hr', '/'), 'max-age=300');
    await patchApp('hr', { hsts: null });
    await patchApp('sample', { hsts: null });
    await eventually(async () => (await hsts('sample', '/echo')) === undefined, 'HSTS off again');
  });

  it('the plain-HTTP port answers 308 to the https URL of hosts the edge serves, 404 with a code for any other host', async () => {
    assert.ok(dev.httpUrl, 'drawbridge dev opens a plain-HTTP port');
    const httpPort = Number(new URL(dev.httpUrl).port);
    const raw = (head: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = net.connect(httpPort, '127.0.0.1');
        let text = '';
        socket.on('data', (d) => {
          text += d.toString();
        });
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
        socket.end(`${head}\r\nConnection: close\r\n\r\n`);
      });
    const sampleHost = new URL(externalUrlOf('sample')).hostname;
    const app = await raw(`GET /echo?x=1 HTTP/1.1\r\nHost: ${sampleHost}:${httpPort}`);
    assert.match(app, /^HTTP\/1\.1 308 /);
    assert.match(
      app,
      new RegExp(`\r\nlocation: ${externalUrlOf('sample').replaceAll('.', '\\.')}/echo\\?x=1\r\n`, 'i'),
    );
    const post = await raw(`POST /form HTTP/1.1\r\nHost: ${sampleHost}\r\nContent-Length: 3\r\n\r\na=1`);
    assert.match(post, /^HTTP\/1\.1 308 /, 'any method, kept by 308');
    const login = await raw(`GET / HTTP/1.1\r\nHost: login.apps.localhost`);
    assert.match(login, new RegExp(`\r\nlocation: https://login\\.apps\\.localhost:${stack.publicPort}/\r\n`, 'i'));
    for (const host of ['evil.example', `evil.example:${httpPort}`, `${sampleHost}.evil.example`, '']) {
      const refused = await raw(`GET /x HTTP/1.1\r\nHost: ${host}`);
      assert.match(refused, /^HTTP\/1\.1 404 /, `Host: ${host}`);
      assert.match(refused, /\r\nx-drawbridge-error: DB-ROUTE-UNKNOWN-HOST\r\n/i);
      assert.doesNotMatch(refused, /\r\nlocation:/i);
    }
    const absolute = await raw(`GET http://evil.example/ HTTP/1.1\r\nHost: ${sampleHost}`);
    assert.match(absolute, /^HTTP\/1\.1 400 /);
    assert.match(absolute, /\r\nx-drawbridge-error: DB-HTTP-BAD-TARGET\r\n/i);
    assert.doesNotMatch(absolute, /\r\nlocation:/i);
  });

  it("the app session cookie follows the app's settings: SameSite, persistence, lifetime", async () => {
    const alice = dev.users.find((u) => u.username === 'alice')!;
    /** Signs in from a fresh client and returns the Set-Cookie of the app session (from the callback on the app host). */
    async function sessionCookie(): Promise<string> {
      const client = new Client(stack.publicPort);
      const seen: Response[] = [];
      const follow = async (start: string, init: { form?: Record<string, string> } = {}): Promise<Response> => {
        let res = await client.request(start, init);
        seen.push(res);
        for (let i = 0; i < 10 && res.location && res.status >= 300 && res.status < 400; i++) {
          res = await client.request(res.location);
          seen.push(res);
        }
        return res;
      };
      const page = await follow(`${externalUrlOf('hr')}/`);
      const done = await follow(`https://login.apps.localhost:${stack.publicPort}/login`, {
        form: {
          csrf: formValue(page.body, 'csrf'),
          state: formValue(page.body, 'state'),
          username: 'alice',
          password: alice.password,
        },
      });
      assert.equal(done.status, 200, 'alice reaches the HR app');
      const cookies = seen.flatMap((r) => (r.headers['set-cookie'] as string[] | undefined) ?? []);
      const cookie = cookies.find((c) => c.startsWith(`${APP_COOKIE}=`) && !/Max-Age=0\b/.test(c));
      assert.ok(cookie, `an app session cookie was set (${cookies.join(' | ')})`);
      return cookie;
    }
    const before = await sessionCookie();
    assert.match(before, /; SameSite=Lax/);
    assert.doesNotMatch(before, /Max-Age/, 'not persistent: alice did not ask to stay signed in');

    await patchApp('hr', { sessionCookie: { persistent: 'always', lifetimeSeconds: 3600, sameSite: 'Strict' } });
    let after = '';
    await eventually(async () => /SameSite=Strict/.test((after = await sessionCookie())), 'the new cookie settings');
    assert.match(after, /; Secure; HttpOnly; SameSite=Strict/);
    assert.match(after, /; Max-Age=3600\b/, "persistent, for the app's lifetime cap");

    await patchApp('hr', { sessionCookie: { persistent: 'never', sameSite: 'None' } });
    await eventually(async () => /SameSite=None/.test((after = await sessionCookie())), 'SameSite=None');
    assert.doesNotMatch(after, /Max-Age/);
    await patchApp('hr', { sessionCookie: { persistent: 'user', lifetimeSeconds: null, sameSite: 'Lax' } });
  });
});
