/**
 * A real HTTPS server that routes like the edge does for sign-in: `login.<domain>` → handleLoginRequest, app hosts →
 * authenticate, then a stand-in backend that shows the identity the edge would send the connector. Real SQLite
 * store and directory, dev certificates, the seeded demo users. Plus a tiny cookie-jar HTTPS client.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { escapeHtml, page } from '../../src/errors/render.ts';
import { createDevCertificates } from '../../src/pki/dev-certs.ts';
import {
  createSignin,
  seedDemoDirectory,
  type DemoUser,
  type Signin,
  type SigninOptions,
} from '../../src/edge/signin/index.ts';
import { openDirectory } from '../../src/edge/signin/extension.ts';
import type { DirectoryStore } from '../../src/store/directory-types.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import type { App, Tenant } from '../../src/store/types.ts';
import { encodeIdentity, IDENTITY_HEADER } from '../../src/tunnel/protocol.ts';

export const DOMAIN = 'apps.localhost';

export interface Harness {
  port: number;
  stateDir: string;
  store: SqliteStore;
  directory: DirectoryStore;
  signin: Signin;
  tenant: Tenant;
  hr: App;
  wiki: App;
  users: DemoUser[];
  loginUrl: string;
  /** What the backend last received (identity header, cookie header). */
  lastBackend: { identity: string | undefined; cookie: string | undefined } | null;
  /** Replaces the sign-in service by a new one on the same state (an edge restart, or another edge node). */
  restartSignin(options?: SigninOptions): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(options: SigninOptions = {}): Promise<Harness> {
  const stateDir = await mkdtemp(join(tmpdir(), 'drawbridge-identity-'));
  const certs = await createDevCertificates(join(stateDir, 'certs'), DOMAIN);
  const store = await openSqliteStore(stateDir);
  const directory = openDirectory(store, stateDir);
  let port = 0;
  const deps = {
    store,
    directory,
    domain: DOMAIN,
    publicPort: () => port,
    stateDir,
    logger: pino({ level: process.env.LOG_LEVEL ?? 'silent' }),
  };
  const limits = { ipLimitPerMinute: 10_000, accountLimitPerMinute: 1000 };
  let signin = await createSignin(deps, { ...limits, ...options });
  const h = { lastBackend: null } as Harness;
  const server = https.createServer(
    { cert: await readFile(certs.certPath), key: await readFile(certs.keyPath) },
    (req, res) => {
      const correlationId = `corr-${Math.random().toString(36).slice(2, 10)}`;
      const host = (req.headers.host ?? '').split(':')[0].toLowerCase();
      if (host === signin.loginHost) return void signin.handleLoginRequest(req, res, correlationId);
      const app = [h.hr, h.wiki].find((a) => a.externalHost === host);
      if (!app) return void res.writeHead(404).end('no app');
      signin.authenticate(req, res, app, correlationId).then(
        (identity) => {
          if (!identity) return;
          // What the edge does next: strip client identity headers, set ours, forward. The "backend" shows it.
          h.lastBackend = { identity: encodeIdentity(identity), cookie: req.headers.cookie };
          void IDENTITY_HEADER;
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(
            page(
              app.name,
              `<main class="card"><p class="status">${escapeHtml(app.name)} · internal app</p><h1>Hello, ${escapeHtml(identity.displayName)}</h1>
<dl><dt>User</dt><dd id="upn">${escapeHtml(identity.upn)}</dd><dt>Groups</dt><dd id="groups">${escapeHtml(identity.groups.join(', '))}</dd>
<dt>Signed in with</dt><dd id="methods">${escapeHtml(identity.authMethods.join(' + '))}</dd><dt>Path</dt><dd id="path">${escapeHtml(req.url ?? '')}</dd></dl>
<a class="button secondary" href="/.drawbridge/auth/signout">Sign out</a></main>`,
            ),
          );
        },
        (err) => {
          res.writeHead(500).end(String(err));
        },
      );
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;

  const tenant = await store.tenants.create({ name: 'contoso', displayName: 'Contoso' });
  const group = await store.groups.create(tenant.id, { name: 'default' });
  const hr = await store.apps.create(tenant.id, {
    name: 'hr',
    internalUrl: 'http://127.0.0.1:1',
    groupId: group.id,
    preAuth: 'idp',
    externalUrl: `https://hr-contoso.${DOMAIN}:${port}`,
  });
  const wiki = await store.apps.create(tenant.id, {
    name: 'wiki',
    internalUrl: 'http://127.0.0.1:2',
    groupId: group.id,
    preAuth: 'idp',
    externalUrl: `https://wiki-contoso.${DOMAIN}:${port}`,
  });
  const { users } = await seedDemoDirectory(directory, tenant.id, hr.id);
  const hrGroup = await directory.groups.getByName(tenant.id, 'HR');
  await directory.assignments.assign(tenant.id, wiki.id, { type: 'group', id: hrGroup!.id });

  Object.assign(h, {
    port,
    stateDir,
    store,
    directory,
    signin,
    tenant,
    hr,
    wiki,
    users,
    loginUrl: `https://login.${DOMAIN}:${port}`,
    async restartSignin(next: SigninOptions = {}) {
      await signin.close();
      signin = await createSignin(deps, { ...limits, ...next });
      h.signin = signin;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await signin.close();
      await store.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  });
  return h;
}

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  location: string | null;
}

/** HTTPS to the harness with SNI and Host of the URL, a cookie jar per host, no automatic redirects. */
export class Client {
  readonly jar = new Map<string, Map<string, string>>();
  readonly port: number;
  /** The loopback source address of this client's connections (e.g. `127.0.0.9`), so tests can sign in from several. */
  readonly localAddress: string | undefined;
  constructor(port: number, options: { localAddress?: string } = {}) {
    this.port = port;
    this.localAddress = options.localAddress;
  }
  cookies(host: string): Map<string, string> {
    let jar = this.jar.get(host);
    if (!jar) this.jar.set(host, (jar = new Map()));
    return jar;
  }
  request(
    url: string,
    init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const u = new URL(url);
    const jar = this.cookies(u.hostname);
    const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
    const headers: Record<string, string> = { host: u.host, accept: 'text/html', ...init.headers };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (body) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: this.port,
          localAddress: this.localAddress,
          servername: u.hostname,
          path: `${u.pathname}${u.search}`,
          method: init.method ?? (body ? 'POST' : 'GET'),
          headers,
          rejectUnauthorized: false,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            for (const c of res.headers['set-cookie'] ?? []) {
              const [pair, ...attrs] = c.split(';');
              const eq = pair.indexOf('=');
              const name = pair.slice(0, eq);
              if (attrs.some((a) => a.trim().toLowerCase() === 'max-age=0')) jar.delete(name);
              else jar.set(name, pair.slice(eq + 1));
            }
            const location = typeof res.headers.location === 'string' ? new URL(res.headers.location, url).href : null;
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
              location,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
  /** Follows redirects (GET) until a non-redirect answer. */
  async follow(
    url: string,
    init: { method?: string; form?: Record<string, string> } = {},
    max = 10,
  ): Promise<Response & { url: string }> {
    let res = await this.request(url, init);
    let at = url;
    for (let i = 0; i < max && res.location && res.status >= 300 && res.status < 400; i++) {
      at = res.location;
      res = await this.request(at);
    }
    return { ...res, url: at };
  }
}

export function formValue(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no ${name} field in page`);
  return m[1]
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/** Opens the app, signs in with the form and follows to the end. */
export async function signIn(
  client: Client,
  appUrl: string,
  username: string,
  password: string,
): Promise<Response & { url: string }> {
  const login = await client.follow(appUrl);
  if (!login.body.includes('name="password"')) return login;
  return client.follow(`https://login.${DOMAIN}:${client.port}/login`, {
    form: { csrf: formValue(login.body, 'csrf'), state: formValue(login.body, 'state'), username, password },
  });
}
