/**
 * The central sign-in host (`login.<domain>`): routes each request to the sign-in method that answers its path (the
 * registry in methods.ts), and itself serves the portal home, `/authorize` (the entry point from an app host) and
 * sign-out. The steps the methods share are in steps.ts. Every POST carries a CSRF token; every outcome is written
 * to the sign-in log with its code.
 */
import { rdpTarget } from '../../tunnel/rdp.ts';
import { CONNECT_FILE_PATH } from '../rdg/connect-file.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decideAccess } from '../access/decide.ts';
import { browserBinding, csrfToken, csrfValid, currentCentral, type Ctx } from './context.ts';
import { CENTRAL_COOKIE, clearCookie } from './cookies.ts';
import { BodyTooLarge, readForm, redirect, requestUrl, sendError, sendHtml } from './http.ts';
import { methodFor } from './methods.ts';
import { homePage, signedOutPage, signoutConfirmPage, type PortalApp } from './pages.ts';
import { decodeState } from './state.ts';
import {
  handOff,
  hiddenFor,
  resolveTenant,
  showSigninPage,
  stateApp,
  stateInvalid,
  writeLog,
  type SigninRequest,
} from './steps.ts';

export async function handleLoginRequest(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  correlationId: string,
): Promise<void> {
  const url = requestUrl(req);
  const browser = browserBinding(ctx, req);
  const r: SigninRequest = {
    ctx,
    req,
    res,
    correlationId,
    url,
    csrf: csrfToken(ctx, browser.id),
    cookies: browser.cookie ? [browser.cookie] : [],
  };
  const method = req.method ?? 'GET';
  const get = method === 'GET' || method === 'HEAD';
  try {
    switch (url.pathname) {
      case '/':
        if (get) return await home(r);
        break;
      case '/authorize':
        if (get) return await authorize(r, url.searchParams.get('state'), false);
        break;
      case '/signout':
        if (get) return await getSignout(r);
        if (method === 'POST') return await postSignout(r);
        break;
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      default: {
        const signinMethod = methodFor(url.pathname);
        if (signinMethod && (await signinMethod.handle(r))) return;
      }
    }
    if (!get && method !== 'POST') {
      res.writeHead(405, { allow: 'GET, HEAD, POST' }).end();
      return;
    }
    sendError(req, res, 'DB-HTTP-BAD-REQUEST', correlationId, 'There is no sign-in page at this address.');
  } catch (err) {
    if (err instanceof BodyTooLarge)
      return sendError(req, res, 'DB-HTTP-BAD-REQUEST', correlationId, 'The form was too large.');
    ctx.deps.logger.error({ err, correlationId }, 'sign-in request failed');
    sendError(req, res, 'DB-INTERNAL', correlationId);
  }
}

async function home(r: SigninRequest) {
  const central = await currentCentral(r.ctx, r.req);
  const done = central?.stage === 'done' ? central : null;
  const user = done ? await r.ctx.deps.directory.users.get(done.tenantId, done.userId) : null;
  const tenant = await resolveTenant(r.ctx, done?.tenantId ?? null);
  if (!done && tenant && r.url.searchParams.get('signin') === '1') {
    return showSigninPage(r, null, tenant, null, 200);
  }
  const passkeys = user ? (await r.ctx.deps.directory.mfa.webauthnList(user.tenantId, user.id)).map((c) => c.name) : [];
  const apps = done ? await portalApps(r.ctx, done.tenantId, done.userId) : [];
  sendHtml(
    r.res,
    200,
    homePage({
      upn: user?.upn ?? null,
      tenantName: tenant?.displayName ?? null,
      signout: hiddenFor(r, null),
      passkeys,
      apps,
    }),
    r.cookies,
  );
}

/** GET /authorize: the entry point from an app host. Signed in → decide and hand off; else the form. */
async function authorize(r: SigninRequest, stateText: string | null, fromPost: boolean) {
  const state = decodeState(r.ctx.keys.key('state'), stateText, r.ctx.now());
  if (!state || !stateText) return stateInvalid(r);
  const app = await stateApp(r.ctx, state);
  if (!app) return stateInvalid(r, 'The application no longer exists or no longer requires sign-in.');
  const central = await currentCentral(r.ctx, r.req);
  if (central && central.tenantId === state.tenantId) {
    if (central.stage === 'done') return handOff(r, central, state, stateText, app, fromPost);
    return redirect(
      r.res,
      `${central.stage === 'mfa' ? '/mfa' : '/mfa/enroll'}?state=${encodeURIComponent(stateText)}`,
      r.cookies,
      fromPost ? 303 : 302,
    );
  }
  const tenant = await r.ctx.deps.store.tenants.get(state.tenantId);
  if (!tenant) return stateInvalid(r);
  // A session ended on purpose (sign-out elsewhere, revocation) is named on the form, with its code.
  return showSigninPage(r, stateText, tenant, app, 200, state.why ? { code: state.why } : undefined);
}

/**
 * The portal: the pre-authenticated apps this user may open right now (the same decision the app host makes), so
 * the launcher never offers an app that would answer with a denial page.
 */
async function portalApps(ctx: Ctx, tenantId: string, userId: string): Promise<PortalApp[]> {
  const { directory, store } = ctx.deps;
  const facts = await directory.access.facts(tenantId, userId);
  if (!facts) return [];
  const assigned = await directory.assignments.appsForUser(tenantId, userId);
  return (await store.apps.list(tenantId))
    .filter((app) => app.enabled && app.preAuth === 'idp' && decideAccess(facts, app.id, assigned).allow)
    .map((app) => ({
      name: app.name,
      url: `${app.externalUrl}/`,
      ...(rdpTarget(app.internalUrl) ? { connect: `${app.externalUrl}${CONNECT_FILE_PATH}` } : {}),
    }));
}

async function getSignout(r: SigninRequest) {
  const central = await currentCentral(r.ctx, r.req);
  if (!central) return sendHtml(r.res, 200, signedOutPage(), [...r.cookies, clearCookie(CENTRAL_COOKIE)]);
  const user = await r.ctx.deps.directory.users.get(central.tenantId, central.userId);
  sendHtml(r.res, 200, signoutConfirmPage({ hidden: hiddenFor(r, null), upn: user?.upn ?? null }), r.cookies);
}

/** Ends the central session and with it every app session it opened (the store is authoritative). */
async function postSignout(r: SigninRequest) {
  const { ctx, req } = r;
  const form = await readForm(req);
  if (!csrfValid(ctx, req, form.get('csrf')))
    return sendError(req, r.res, 'DB-SIGNIN-CSRF', r.correlationId, undefined, r.cookies);
  const central = await currentCentral(ctx, req);
  if (central) {
    // With its reason: every node closes what this session holds open, and its app hosts say why on the next request.
    await ctx.sessions.deleteCentral(central.id, 'DB-SESSION-SIGNED-OUT');
    const user = await ctx.deps.directory.users.get(central.tenantId, central.userId);
    await writeLog(ctx, req, r.correlationId, {
      tenantId: central.tenantId,
      event: 'signout',
      userId: central.userId,
      username: user?.upn ?? null,
      result: 'success',
      authMethod: central.authMethods[0],
    });
  }
  sendHtml(r.res, 200, signedOutPage(), [...r.cookies, clearCookie(CENTRAL_COOKIE)]);
}
