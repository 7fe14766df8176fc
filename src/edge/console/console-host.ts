/**
 * The admin console on `admin.<domain>` (a system host of the public port, like the sign-in host): sign-in,
 * routing, CSRF, and the frame around each page (pages.ts). Everything it shows or changes goes through the admin
 * API in process (admin-client.ts), with the signed-in administrator's authority.
 *
 * Sign-in, two ways (docs/console.md):
 * - through the directory: the browser is sent to the sign-in host exactly as for a pre-authenticated app (password,
 *   MFA, conditional access, lockout, the sign-in log), and only members of the tenant's console groups
 *   are handed back (edge/signin/console-access.ts), each acting with their group's role (console/credentials.ts);
 * - with the bootstrap admin token pasted on the sign-in page, for first setup (every tenant).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { KeyRing } from '../../identity/keys.ts';
import type { Store, Tenant } from '../../store/types.ts';
import type { Authenticate } from '../proxy/handler.ts';
import { consoleApp, consoleRoleOf } from '../signin/console-access.ts';
import { clearCookie } from '../signin/cookies.ts';
import { BodyTooLarge, readForm, redirect, sendError } from '../signin/http.ts';
import { scopedPath, type AdminClient, type Administrator } from './admin-client.ts';
import { ASSETS } from './assets.ts';
import { authorize, type AdminAction, type AdminPrincipal } from '../admin/authorization.ts';
import { NAV, barePage, e, layout, tenantBase } from './html.ts';
import {
  ApiFailure,
  DONE,
  appPage,
  failureHtml,
  policiesPage,
  renderSection,
  runAction,
  signinLogExportPath,
  type Page,
  type PageCtx,
} from './pages.ts';
import {
  BOOTSTRAP_COOKIE,
  TENANT_COOKIE,
  bootstrapCookie,
  chosenTenant,
  csrfFor,
  csrfOk,
  hasBootstrapSession,
  tenantCookie,
  tokenMatches,
} from './session.ts';

export interface ConsoleDeps {
  store: Store;
  keys: KeyRing;
  adminToken: string;
  client: AdminClient;
  /** `https://admin.<domain>[:port]` (a function: the port is known once the edge listens). */
  origin(): string;
  loginOrigin(): string;
  /** The sign-in extension's hook; null: only the bootstrap token signs in. */
  authenticate: Authenticate | null;
  logger: Logger;
}

const AUTH_PATH = '/.drawbridge/auth/';

function headers(deps: ConsoleDeps): Record<string, string> {
  return {
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self' ${deps.loginOrigin()}; base-uri 'none'; frame-ancestors 'none'`,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
  };
}

function send(deps: ConsoleDeps, res: ServerResponse, status: number, html: string, cookies: string[] = []): void {
  if (res.headersSent) return;
  const body = Buffer.from(html);
  res.writeHead(status, {
    ...headers(deps),
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    ...(cookies.length ? { 'set-cookie': cookies } : {}),
  });
  res.end(body);
}

function signinPage(deps: ConsoleDeps, csrf: string, tenants: Tenant[], error?: string): string {
  const single = tenants.length === 1 ? tenants[0] : null;
  const directory = deps.authenticate
    ? `<section aria-labelledby="dir-h" class="card">
<h2 id="dir-h">Administrator account</h2>
<p>Sign in with your organisation account. Members of the groups <strong>Drawbridge Admins</strong>, Drawbridge Connector Operators, Drawbridge App Admins and Drawbridge Security Readers administer their tenant with that role; your tenant's MFA and conditional access apply.</p>
<form method="get" action="/signin/directory">
${single ? `<input type="hidden" name="tenant" value="${e(single.name)}"><p class="muted">Tenant: ${e(single.displayName)}</p>` : '<label for="tenant">Tenant</label><input type="text" id="tenant" name="tenant" required autocomplete="organization" autocapitalize="none" spellcheck="false"><br><br>'}
<button type="submit">Sign in with your account</button>
</form></section>`
    : '';
  return barePage(
    'Sign in',
    `
<h1>Sign in to the console</h1>
${error ? `<div class="alert bad" role="alert">${error}</div>` : ''}
${directory}
<section aria-labelledby="tok-h" class="card" style="margin-top:16px">
<h2 id="tok-h">Bootstrap admin token</h2>
<p class="muted">For first setup: the token in the edge's state directory (<code>admin-token</code>) or configuration. It administers every tenant.</p>
<form method="post" action="/signin/token">
<input type="hidden" name="csrf" value="${e(csrf)}">
<label for="token">Admin token</label>
<input type="password" id="token" name="token" required autocomplete="off" maxlength="512"><br><br>
<button type="submit" class="secondary">Sign in with the token</button>
</form></section>`,
  );
}

/** What each console section reads: a section whose read the role is not granted is left out of the navigation. */
const SECTION_READS: Record<(typeof NAV)[number][0], AdminAction | null> = {
  '': null,
  apps: 'apps.read',
  connectors: 'connectors.read',
  users: 'directory.read',
  groups: 'directory.read',
  licences: 'directory.read',
  assignments: 'assignments.read',
  policies: 'policies.read',
  'signin-log': 'signin-log.read',
  reports: 'reports.read',
  audit: 'audit.read',
};

export function sectionsFor(admin: Administrator, tenantId: string): string[] {
  const principal: AdminPrincipal = {
    kind: 'session',
    id: admin.userId ?? 'bootstrap',
    name: admin.name,
    role: admin.role,
    tenantId: admin.tenantId,
    appIds: admin.appIds,
  };
  return NAV.map(([path]) => path).filter((path) => {
    const action = SECTION_READS[path];
    return action === null || authorize(principal, action, tenantId).allowed;
  });
}

export function createConsoleHost(
  deps: ConsoleDeps,
): (req: IncomingMessage, res: ServerResponse, correlationId: string) => Promise<void> {
  const { keys } = deps;

  async function administrator(
    req: IncomingMessage,
    res: ServerResponse,
    correlationId: string,
  ): Promise<Administrator | null> {
    if (hasBootstrapSession(keys, deps.adminToken, req))
      return {
        kind: 'bootstrap',
        name: 'bootstrap admin',
        tenantId: null,
        userId: null,
        role: 'global-admin',
        appIds: [],
      };
    const tenantId = chosenTenant(keys, req);
    if (!tenantId || !deps.authenticate) {
      redirect(res, '/signin');
      return null;
    }
    // Sends the browser to the sign-in host, or finishes the round trip, or answers a denial; an identity otherwise.
    const identity = await deps.authenticate(req, res, consoleApp(tenantId, deps.origin()), correlationId);
    if (!identity) return null;
    // The role from the directory as it is now (groups, assignments), not as it was at sign-in.
    const { directory } = deps.store;
    const facts = await directory.access.facts(identity.tenantId, identity.userId);
    const role = facts
      ? consoleRoleOf(
          facts.groups.map((g) => g.name),
          await directory.assignments.appsForUser(identity.tenantId, identity.userId),
        )
      : null;
    if (!role) throw new DrawbridgeError('DB-CONSOLE-NOT-ADMIN', `${identity.upn} is no longer an administrator`);
    return {
      kind: 'directory',
      name: identity.upn,
      tenantId: identity.tenantId,
      userId: identity.userId,
      role: role.role,
      appIds: role.appIds,
    };
  }

  async function tenantsFor(admin: Administrator): Promise<Tenant[]> {
    if (admin.tenantId) {
      const t = await deps.store.tenants.get(admin.tenantId);
      return t ? [t] : [];
    }
    const answer = await deps.client.call<{ items: Tenant[] }>(admin, 'GET', '/tenants');
    return answer.ok ? answer.body.items : [];
  }

  return async (req, res, correlationId) => {
    const url = new URL(req.url ?? '/', 'https://console.invalid');
    const method = req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    try {
      const asset = ASSETS.get(url.pathname);
      if (asset && get) {
        res.writeHead(200, {
          'content-type': asset.type,
          'content-length': asset.body.length,
          'cache-control': 'public, max-age=31536000, immutable',
          'x-content-type-options': 'nosniff',
        });
        res.end(method === 'HEAD' ? undefined : asset.body);
        return;
      }
      if (url.pathname === '/favicon.ico') {
        res.writeHead(204).end();
        return;
      }
      // Computed before anything strips our cookies from the request.
      const csrf = csrfFor(keys, req);
      const form = method === 'POST' ? await readForm(req) : null;
      if (form && !csrfOk(keys, req, deps.origin(), form.get('csrf')))
        return sendError(req, res, 'DB-SIGNIN-CSRF', correlationId);
      if (!get && method !== 'POST') {
        res.writeHead(405, { allow: 'GET, HEAD, POST' }).end();
        return;
      }

      if (url.pathname === '/signin' && get)
        return send(deps, res, 200, signinPage(deps, csrf, await deps.store.tenants.list()));
      if (url.pathname === '/signin/directory' && get) {
        const tenant = await deps.store.tenants.getByName((url.searchParams.get('tenant') ?? '').trim().toLowerCase());
        if (!tenant || !deps.authenticate)
          return send(
            deps,
            res,
            404,
            signinPage(deps, csrf, await deps.store.tenants.list(), 'There is no such tenant.'),
          );
        return redirect(res, '/', [tenantCookie(keys, tenant.id), clearCookie(BOOTSTRAP_COOKIE)]);
      }
      if (url.pathname === '/signin/token' && form) {
        if (!tokenMatches(form.get('token') ?? '', deps.adminToken)) {
          deps.logger.warn({ correlationId }, 'console: wrong bootstrap token');
          return send(
            deps,
            res,
            401,
            signinPage(
              deps,
              csrf,
              await deps.store.tenants.list(),
              'That token is not the admin token. <code>DB-ADMIN-UNAUTHORIZED</code>',
            ),
          );
        }
        return redirect(res, '/', [bootstrapCookie(keys, deps.adminToken)], 303);
      }
      if (url.pathname === '/signout' && form) {
        const directory =
          !hasBootstrapSession(keys, deps.adminToken, req) && chosenTenant(keys, req) && deps.authenticate;
        // A directory session ends through the app-host sign-out (which ends the central session's use here and
        // goes on to the sign-in host's sign-out page).
        return redirect(
          res,
          directory ? `${AUTH_PATH}signout` : '/signin',
          [clearCookie(BOOTSTRAP_COOKIE), ...(directory ? [] : [clearCookie(TENANT_COOKIE)])],
          303,
        );
      }
      if (url.pathname.startsWith(AUTH_PATH)) {
        const tenantId = chosenTenant(keys, req);
        if (!tenantId || !deps.authenticate) return redirect(res, '/signin');
        await deps.authenticate(req, res, consoleApp(tenantId, deps.origin()), correlationId);
        return;
      }

      const admin = await administrator(req, res, correlationId);
      if (!admin) return;
      const tenants = await tenantsFor(admin);
      if (url.pathname === '/' || url.pathname === '/switch') {
        const wanted = url.searchParams.get('tenant');
        const tenant =
          tenants.find((t) => t.name === wanted) ?? tenants.find((t) => t.id === chosenTenant(keys, req)) ?? tenants[0];
        if (!tenant)
          return send(
            deps,
            res,
            200,
            barePage(
              'No tenant',
              '<h1>No tenant yet</h1><p>Create one with <code>drawbridge admin tenants create</code>.</p>',
            ),
          );
        return redirect(res, tenantBase(tenant.name));
      }
      const m = /^\/t\/([^/]+)\/(.*)$/.exec(url.pathname);
      if (!m)
        return sendError(req, res, 'DB-HTTP-BAD-REQUEST', correlationId, 'There is no console page at this address.');
      const tenantName = decodeURIComponent(m[1]);
      const tenant = tenants.find((t) => t.name === tenantName);
      if (!tenant) {
        if (admin.tenantId)
          throw new DrawbridgeError('DB-CONSOLE-NOT-ADMIN', `${admin.name} administers another tenant`);
        return sendError(req, res, 'DB-ADMIN-NOT-FOUND', correlationId, `tenant ${tenantName} not found`);
      }
      const parts = m[2].split('/').filter(Boolean).map(decodeURIComponent);
      const c: PageCtx = {
        admin,
        tenant,
        csrf,
        query: url.searchParams,
        base: tenantBase(tenant.name),
        api: (verb, rest, body) => deps.client.call(admin, verb, scopedPath(admin, tenant.id, rest), body),
        apiRoot: (verb, path) => deps.client.call(admin, verb, path),
      };
      const frame = (section: string, page: Page, status = 200) =>
        send(
          deps,
          res,
          status,
          layout({
            title: page.title,
            who: admin.name,
            role: admin.role,
            sections: sectionsFor(admin, tenant.id),
            tenant,
            tenants: admin.tenantId ? undefined : tenants,
            active: section,
            csrf,
            body: page.body,
            notice: page.notice,
          }),
        );
      const show = async (section: string, id: string | undefined, notice: Page['notice'], status = 200) => {
        try {
          const page = await renderSection(c, section, id);
          if (!page)
            return sendError(
              req,
              res,
              'DB-HTTP-BAD-REQUEST',
              correlationId,
              'There is no console page at this address.',
            );
          return frame(section, { ...page, notice: notice ?? page.notice }, status);
        } catch (err) {
          if (!(err instanceof ApiFailure)) throw err;
          return frame(
            section,
            { title: 'Something went wrong', body: '', notice: { kind: 'bad', html: failureHtml(err.answer) } },
            err.answer.status,
          );
        }
      };

      if (form) {
        const result = await runAction(c, parts, form);
        if (!result) return sendError(req, res, 'DB-HTTP-BAD-REQUEST', correlationId, 'Unknown console action.');
        if ('tested' in result) {
          try {
            return frame(
              'apps',
              await appPage(c, result.tested.appId, result.tested.answer),
              result.tested.answer.ok ? 200 : result.tested.answer.status,
            );
          } catch (err) {
            if (!(err instanceof ApiFailure)) throw err;
            return frame(
              'apps',
              { title: 'Something went wrong', body: '', notice: { kind: 'bad', html: failureHtml(err.answer) } },
              err.answer.status,
            );
          }
        }
        if ('whatIf' in result && result.whatIf) {
          return frame('policies', await policiesPage(c, result.whatIf));
        }
        if ('failed' in result) {
          const [section, id] = result.section.split('/');
          return show(section, id, { kind: 'bad', html: failureHtml(result.failed) }, result.failed.status);
        }
        if (result.query?.token) {
          // Shown once, on this answer only: never in a URL.
          c.query = new URLSearchParams({ token: result.query.token });
          return show('connectors', undefined, { kind: 'ok', html: e(DONE[result.done]) });
        }
        return redirect(res, `${c.base}${result.section}?done=${encodeURIComponent(result.done)}`, [], 303);
      }

      // Downloads: the API's CSV, with its file name.
      if (parts[0] === 'signin-log' && parts[1] === 'export.csv')
        return download(res, await c.api('GET', signinLogExportPath(url.searchParams)));
      const report = parts[0] === 'reports' && parts[1]?.endsWith('.csv') ? parts[1].slice(0, -4) : null;
      if (report) {
        const q = new URLSearchParams({ format: 'csv' });
        for (const k of ['since', 'until']) {
          const v = url.searchParams.get(k);
          if (v) q.set(k, v);
        }
        return download(res, await c.api('GET', `/reports/${encodeURIComponent(report)}?${q}`));
      }
      const done = url.searchParams.get('done');
      return show(parts[0] ?? '', parts[1], done && DONE[done] ? { kind: 'ok', html: e(DONE[done]) } : null);
    } catch (err) {
      if (err instanceof BodyTooLarge)
        return sendError(req, res, 'DB-HTTP-BAD-REQUEST', correlationId, 'The form was too large.');
      if (err instanceof DrawbridgeError) return sendError(req, res, err.code, correlationId, err.detail);
      deps.logger.error({ err, correlationId }, 'console request failed');
      sendError(req, res, 'DB-INTERNAL', correlationId);
    }

    function download(
      out: ServerResponse,
      a: { ok: boolean; status: number; text: string; headers: Record<string, unknown>; error: unknown },
    ): void {
      if (!a.ok) {
        out
          .writeHead(a.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
          .end(`${(a.error as { code?: string })?.code ?? 'error'}\n`);
        return;
      }
      out.writeHead(200, {
        'content-type': String(a.headers['content-type'] ?? 'text/csv; charset=utf-8'),
        'content-disposition': String(a.headers['content-disposition'] ?? 'attachment'),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      });
      out.end(a.text);
    }
  };
}
