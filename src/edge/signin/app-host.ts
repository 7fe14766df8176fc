/**
 * The app host's half of pre-authentication: recognise the app's own session cookie (fast: HMAC + one lookup), or
 * send the browser to the sign-in host with a signed state; finish the round trip on `/.drawbridge/auth/callback` by
 * redeeming the one-time code and setting a host-only cookie; and `/.drawbridge/auth/signout`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { wantsJson } from '../../errors/render.ts';
import { safeEqual, sign, unsign } from '../../identity/keys.ts';
import type { App } from '../../store/types.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import { decideFor } from './console-access.ts';
import type { Ctx } from './context.ts';
import { APP_COOKIE, AUTH_COOKIE, clearCookie, parseCookies, serializeCookie, stripOurCookies } from './cookies.ts';
import { clientIp, redirect, requestUrl, sendError, userAgent } from './http.ts';
import { safeReturnPath } from './return-url.ts';
import { isAlive, newSecret, type AppSession, type CentralSession, type SessionEndReason } from './sessions.ts';
import { takeCode } from './one-time.ts';
import { decodeState, encodeState, STATE_TTL_SECONDS } from './state.ts';
import { writeLog } from './steps.ts';

export const AUTH_PREFIX = '/.drawbridge/auth/';
/** Touch sessions at most this often (idle expiry has minute precision; saves a store write per request). */
const TOUCH_MS = 60_000;

export async function authenticate(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  correlationId: string,
): Promise<Identity | null> {
  // Most requests carry a valid session: the URL is parsed only on the paths that need it.
  if (req.url?.startsWith(AUTH_PREFIX)) {
    const url = requestUrl(req);
    if (url.pathname === `${AUTH_PREFIX}callback`) await callback(ctx, req, res, app, correlationId, url);
    else if (url.pathname === `${AUTH_PREFIX}signout`) await signout(ctx, req, res, app);
    else sendError(req, res, 'DB-HTTP-BAD-REQUEST', correlationId, 'Unknown Drawbridge address.');
    return null;
  }
  const cookies = parseCookies(req.headers.cookie);
  const raw = cookies.get(APP_COOKIE);
  const id = raw ? unsign(ctx.keys.key('cookie'), raw) : null;
  const session = id ? await ctx.sessions.getApp(id) : null;
  if (session && session.appId === app.id && session.tenantId === app.tenantId) {
    const identity = await validate(ctx, req, res, app, correlationId, session);
    if (identity === 'denied') return null;
    if (identity) {
      req.headers.cookie = stripOurCookies(req.headers.cookie);
      if (req.headers.cookie === undefined) delete req.headers.cookie;
      return identity;
    }
  } else if (session) {
    // A cookie of another app presented here (copied by hand: browsers never send host-only cookies across hosts).
    ctx.deps.logger.warn(
      { correlationId, appId: app.id, sessionApp: session.appId },
      'app session cookie presented to the wrong app',
    );
  }
  // A session ended on purpose (sign-out elsewhere, revocation) says so, with its code, rather than just starting over.
  const why = id && !session ? await ctx.sessions.endReason(id) : null;
  startSignin(ctx, req, res, app, correlationId, requestUrl(req), why);
  return null;
}

/** The central session must still be alive (sign-out anywhere ends here too); access is re-checked periodically. */
async function validate(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  correlationId: string,
  session: AppSession,
): Promise<Identity | null | 'denied'> {
  const central = await ctx.sessions.getCentral(session.centralId);
  if (!central || central.stage !== 'done') {
    await ctx.sessions.deleteApp(session.id);
    return null;
  }
  const ca = await conditionalAccess(ctx, req, res, app, correlationId, session, central);
  if (ca !== 'allow') return ca;
  const t = ctx.now();
  let changed = false;
  // Periodically, and at once after a change that may shrink this user's access (continuous access evaluation).
  if (t - session.checkedAt > ctx.recheckMs || ctx.cae.changedSince(session)) {
    const { directory } = ctx.deps;
    const facts = await directory.access.facts(session.tenantId, session.userId);
    const decision = decideFor(
      app,
      facts,
      facts ? await directory.assignments.appsForUser(session.tenantId, session.userId) : [],
    );
    if (!decision.allow) {
      await ctx.sessions.deleteApp(session.id);
      await writeLog(ctx, req, correlationId, {
        tenantId: session.tenantId,
        event: 'access',
        userId: session.userId,
        username: session.identity.upn,
        appId: app.id,
        result: 'denied',
        code: decision.code,
        detail: { reason: decision.reason, detail: decision.detail, recheck: true },
      });
      sendError(req, res, decision.code, correlationId, undefined, [clearCookie(APP_COOKIE)]);
      return 'denied';
    }
    session.checkedAt = t;
    changed = true;
  }
  if (t - session.lastSeenAt > TOUCH_MS) {
    session.lastSeenAt = t;
    central.lastSeenAt = t;
    await ctx.sessions.putCentral(central);
    changed = true;
  }
  if (changed) await ctx.sessions.putApp(session);
  const facts = { appId: app.id, clientIp: clientIp(req), userAgent: userAgent(req), at: t };
  // Plugged-in checks (policies) judge every request from cached facts; none plugged in costs nothing.
  const pending = ctx.cae.check(session, facts);
  const verdict = pending instanceof Promise ? await pending : pending;
  if (!verdict.allow) {
    await writeLog(ctx, req, correlationId, {
      tenantId: session.tenantId,
      event: 'access',
      userId: session.userId,
      username: session.identity.upn,
      appId: app.id,
      result: 'denied',
      code: verdict.code,
      detail: { reason: verdict.reason, perRequest: true },
    });
    sendError(req, res, verdict.code, correlationId);
    return 'denied';
  }
  ctx.cae.admit(req, session, facts);
  return session.identity;
}

/**
 * Conditional access on every request, from cached policies (no store query): the client's address may have moved
 * into a blocked location, or out of the one that spared it MFA, since the sign-in. Blocked: the denial, logged
 * once (the app session ends). A requirement the session does not meet: the app session ends and the browser goes
 * back through sign-in, which steps up. Report-only policies are logged at sign-in, not on every request.
 */
async function conditionalAccess(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  correlationId: string,
  session: AppSession,
  central: CentralSession,
): Promise<'allow' | null | 'denied'> {
  const { verdict } = await ctx.access.onRequest(req, {
    tenantId: session.tenantId,
    userId: session.userId,
    groupIds: session.groupIds ?? [],
    appId: app.id,
    authMethods: central.authMethods,
    authenticatedAt: central.createdAt,
    risk: session.risk ?? 'none',
  });
  if (verdict.allow) return 'allow';
  await ctx.sessions.deleteApp(session.id);
  if (verdict.outcome !== 'block') return null;
  await writeLog(ctx, req, correlationId, {
    tenantId: session.tenantId,
    event: 'access',
    userId: session.userId,
    username: session.identity.upn,
    appId: app.id,
    result: 'denied',
    code: verdict.code,
    detail: { reason: 'conditional-access', policy: { id: verdict.policyId, name: verdict.policyName }, recheck: true },
  });
  sendError(req, res, verdict.code, correlationId, undefined, [clearCookie(APP_COOKIE)]);
  return 'denied';
}

function startSignin(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  correlationId: string,
  url: URL,
  why: SessionEndReason | null = null,
): void {
  const navigation = (req.method === 'GET' || req.method === 'HEAD') && !wantsJson(req.headers.accept);
  if (!navigation) {
    sendError(req, res, why ?? 'DB-SESSION-EXPIRED', correlationId, undefined, why ? [clearCookie(APP_COOKIE)] : []);
    return;
  }
  // Reuse the nonce of a sign-in already under way in this browser, so two tabs opening the app do not undo each other.
  const existing = parseCookies(req.headers.cookie).get(AUTH_COOKIE);
  const nonce = (existing && unsign(ctx.keys.key('cookie'), existing)) || newSecret(16);
  const state = encodeState(
    ctx.keys.key('state'),
    {
      tenantId: app.tenantId,
      appId: app.id,
      returnPath: safeReturnPath(`${url.pathname}${url.search}`),
      nonce,
      ...(why ? { why } : {}),
    },
    ctx.now(),
  );
  redirect(res, `${ctx.loginOrigin}/authorize?state=${encodeURIComponent(state)}`, [
    serializeCookie(AUTH_COOKIE, sign(ctx.keys.key('cookie'), nonce), { maxAge: STATE_TTL_SECONDS }),
    // The ended session's cookie goes, so its reason is told once.
    ...(why ? [clearCookie(APP_COOKIE)] : []),
  ]);
}

async function callback(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  correlationId: string,
  url: URL,
): Promise<void> {
  const invalid = (why: string) => {
    ctx.deps.logger.warn({ correlationId, appId: app.id, why }, 'sign-in callback refused');
    sendError(req, res, 'DB-SIGNIN-STATE-INVALID', correlationId, undefined, [clearCookie(AUTH_COOKIE)]);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return invalid('method');
  const state = decodeState(ctx.keys.key('state'), url.searchParams.get('state'), ctx.now());
  if (!state || state.appId !== app.id || state.tenantId !== app.tenantId) return invalid('state');
  const raw = parseCookies(req.headers.cookie).get(AUTH_COOKIE);
  const nonce = raw ? unsign(ctx.keys.key('cookie'), raw) : null;
  if (!nonce || !safeEqual(nonce, state.nonce)) return invalid('browser binding');
  const code = url.searchParams.get('code');
  const record = code ? await takeCode(ctx.state, code) : null;
  if (!record || record.appId !== app.id || record.tenantId !== app.tenantId || !safeEqual(record.nonce, state.nonce))
    return invalid('code');
  const central = await ctx.sessions.getCentral(record.centralId);
  if (!central || central.stage !== 'done' || central.userId !== record.userId) {
    sendError(req, res, 'DB-SESSION-EXPIRED', correlationId, undefined, [clearCookie(AUTH_COOKIE)]);
    return;
  }
  const facts = await ctx.deps.directory.access.facts(central.tenantId, central.userId);
  if (!facts) return invalid('user gone');
  const identity: Identity = {
    userId: facts.user.id,
    tenantId: facts.user.tenantId,
    upn: facts.user.upn,
    displayName: facts.user.displayName,
    email: facts.user.email,
    onPremName: facts.user.onPremName,
    groups: facts.groups.map((g) => g.name),
    authMethods: central.authMethods,
  };
  const t = ctx.now();
  // The app's cookie settings (store/app-web.ts): persistence, a lifetime cap, SameSite.
  const settings = app.sessionCookie;
  const persistent = settings.persistent === 'always' || (settings.persistent === 'user' && central.persistent);
  // Never outlive the central session, nor the app's lifetime cap.
  const remaining = Math.floor((central.createdAt + central.absoluteSeconds * 1000 - t) / 1000);
  const session: AppSession = {
    id: newSecret(32),
    centralId: central.id,
    tenantId: app.tenantId,
    appId: app.id,
    userId: central.userId,
    identity,
    // A conditional access grant (persistent session or not) overrides the app's cookie setting.
    persistent: record.persistent ?? persistent,
    createdAt: t,
    lastSeenAt: t,
    checkedAt: t,
    groupIds: record.groupIds ?? facts.groups.map((g) => g.id),
    risk: record.risk ?? 'none',
    idleSeconds: central.idleSeconds,
    absoluteSeconds: Math.max(60, Math.min(remaining, settings.lifetimeSeconds ?? Infinity)),
  };
  await ctx.sessions.putApp(session);
  const cookie = serializeCookie(APP_COOKIE, sign(ctx.keys.key('cookie'), session.id), {
    sameSite: settings.sameSite,
    ...(session.persistent ? { maxAge: session.absoluteSeconds } : {}),
  });
  redirect(res, state.returnPath, [cookie, clearCookie(AUTH_COOKIE)]);
}

async function signout(ctx: Ctx, req: IncomingMessage, res: ServerResponse, app: App): Promise<void> {
  const raw = parseCookies(req.headers.cookie).get(APP_COOKIE);
  const id = raw ? unsign(ctx.keys.key('cookie'), raw) : null;
  const session = id ? await ctx.sessions.getApp(id) : null;
  if (session && session.appId === app.id) await ctx.sessions.deleteApp(session.id);
  redirect(res, `${ctx.loginOrigin}/signout`, [clearCookie(APP_COOKIE)]);
}

export { isAlive };
