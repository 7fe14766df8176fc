/**
 * The central sign-in host (`login.<domain>`): the password form, the second step, TOTP enrolment, the access
 * decision for the app being opened, the one-time code hand-off to the app host, and sign-out. Every POST carries a
 * CSRF token; every outcome is written to the sign-in log with its code.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import QRCode from 'qrcode';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { catalogue } from '../../errors/catalogue.ts';
import { hashPassword, needsRehash, verifyPassword } from '../../identity/password.ts';
import { generateRecoveryCodes, hashRecoveryCode, looksLikeRecoveryCode } from '../../identity/recovery-codes.ts';
import { generateTotpSecret, otpauthUri, verifyTotp } from '../../identity/totp.ts';
import type { App, Tenant } from '../../store/types.ts';
import { decideAccess } from '../access/decide.ts';
import { appOrigin, browserBinding, centralCookie, csrfToken, csrfValid, currentCentral, writeLog, type Ctx } from './context.ts';
import { CENTRAL_COOKIE, clearCookie, FLOW_COOKIE } from './cookies.ts';
import { BodyTooLarge, readForm, redirect, requestUrl, sendError, sendHtml, clientIp, type Reply } from './http.ts';
import { handleOidcCallback, oidcStartUrl, startOidc } from './oidc.ts';
import { deniedPage, enrollPage, homePage, loginPage, mfaPage, recoveryCodesPage, signedOutPage, signoutConfirmPage, type Hidden, type PortalApp } from './pages.ts';
import { handlePasskey, type PasskeyHost } from './webauthn.ts';
import { newSecret, type CentralSession } from './sessions.ts';
import { decodeState, type SigninState } from './state.ts';

/** After this many wrong second-factor codes the half-finished sign-in is thrown away. */
const MAX_MFA_FAILURES = 5;
const CODE_TTL_SECONDS = 60;

interface Req extends Reply {
  ctx: Ctx;
  url: URL;
  /** Browser binding: CSRF token for the forms on this page and the cookie to set when new. */
  csrf: string;
}

function passkeyHost(r: Req): PasskeyHost {
  return {
    reply: r,
    hidden: (stateText) => hiddenFor(r, stateText),
    resolveTenant: (tenantId) => resolveTenant(r.ctx, tenantId),
    completeMfa: (central, stateText, method) => completeMfa(r, central, stateText, method),
    async signedIn(tenantId, userId, stateText) {
      await r.ctx.lockout.signedIn(tenantId, userId);
      // User verification made the passkey two factors in one: the session is complete at once.
      const central = await startCentralSession(r.ctx, r.req, tenantId, userId, ['webauthn'], false, true);
      const state = stateText ? decodeState(r.ctx.keys.key('state'), stateText, r.ctx.now()) : null;
      await afterPrimary(r, central, stateText, { tenantId, event: 'signin', username: '', appId: state?.a ?? null, authMethod: 'webauthn', mfaMethod: 'webauthn' });
    },
  };
}

function hiddenFor(r: Req, stateText: string | null): Hidden {
  return { csrf: r.csrf, state: stateText };
}

export async function handleLoginRequest(ctx: Ctx, req: IncomingMessage, res: ServerResponse, cid: string): Promise<void> {
  const url = requestUrl(req);
  const browser = browserBinding(ctx, req);
  const r: Req = { ctx, req, res, cid, url, csrf: csrfToken(ctx, browser.id), cookies: browser.cookie ? [browser.cookie] : [] };
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
      case '/login':
        if (method === 'POST') return await postLogin(r);
        if (get) return redirect(res, url.searchParams.get('state') ? `/authorize?state=${encodeURIComponent(url.searchParams.get('state') as string)}` : '/');
        break;
      case '/mfa':
        if (get) return await getMfa(r);
        if (method === 'POST') return await postMfa(r);
        break;
      case '/mfa/enroll':
        if (get) return await getEnroll(r);
        if (method === 'POST') return await postEnroll(r);
        break;
      case '/signout':
        if (get) return await getSignout(r);
        if (method === 'POST') return await postSignout(r);
        break;
      case '/oidc/start':
        if (get) return await startOidc(ctx, req, res, cid, url.searchParams.get('state'), (tenantId) => resolveTenant(ctx, tenantId));
        break;
      case '/oidc/callback':
        if (get) return await handleOidcCallback(ctx, req, res, cid, (central, stateText) => {
          r.cookies.push(clearCookie(FLOW_COOKIE));
          return afterPrimary(r, central, stateText);
        });
        break;
      case '/favicon.ico':
        res.writeHead(204).end();
        return;
      default:
        if (url.pathname.startsWith('/passkey')) return await handlePasskey(ctx, passkeyHost(r), url);
    }
    if (!get && method !== 'POST') {
      res.writeHead(405, { allow: 'GET, HEAD, POST' }).end();
      return;
    }
    sendError(req, res, 'DB-HTTP-BAD-REQUEST', cid, 'There is no sign-in page at this address.');
  } catch (err) {
    if (err instanceof BodyTooLarge) return sendError(req, res, 'DB-HTTP-BAD-REQUEST', cid, 'The form was too large.');
    ctx.deps.logger.error({ err, correlationId: cid }, 'sign-in request failed');
    sendError(req, res, 'DB-INTERNAL', cid);
  }
}

async function resolveTenant(ctx: Ctx, tenantId: string | null): Promise<Tenant | null> {
  if (tenantId) return ctx.deps.store.tenants.get(tenantId);
  const all = await ctx.deps.store.tenants.list();
  return all.length === 1 ? all[0] : null;
}

async function stateApp(ctx: Ctx, state: SigninState): Promise<App | null> {
  const app = await ctx.deps.store.apps.get(state.t, state.a);
  return app && app.enabled && app.preAuth === 'idp' ? app : null;
}

function stateInvalid(r: Req, detail?: string) {
  sendError(r.req, r.res, 'DB-SIGNIN-STATE-INVALID', r.cid, detail, r.cookies);
}

async function home(r: Req) {
  const central = await currentCentral(r.ctx, r.req);
  const done = central?.stage === 'done' ? central : null;
  const user = done ? await r.ctx.deps.directory.users.get(done.tenantId, done.userId) : null;
  const tenant = await resolveTenant(r.ctx, done?.tenantId ?? null);
  if (!done && tenant && r.url.searchParams.get('signin') === '1') {
    return renderLogin(r, null, tenant, null, 200);
  }
  const passkeys = user ? (await r.ctx.deps.directory.mfa.webauthnList(user.tenantId, user.id)).map((c) => c.name) : [];
  const apps = done ? await portalApps(r.ctx, done.tenantId, done.userId) : [];
  sendHtml(r.res, 200, homePage({ upn: user?.upn ?? null, tenantName: tenant?.displayName ?? null, signout: hiddenFor(r, null), passkeys, apps }), r.cookies);
}

/** GET /authorize: the entry point from an app host. Signed in → decide and hand off; else the form. */
async function authorize(r: Req, stateText: string | null, fromPost: boolean) {
  const state = decodeState(r.ctx.keys.key('state'), stateText, r.ctx.now());
  if (!state || !stateText) return stateInvalid(r);
  const app = await stateApp(r.ctx, state);
  if (!app) return stateInvalid(r, 'The application no longer exists or no longer requires sign-in.');
  const central = await currentCentral(r.ctx, r.req);
  if (central && central.tenantId === state.t) {
    if (central.stage === 'done') return handOff(r, central, state, stateText, app, fromPost);
    return redirect(r.res, `${central.stage === 'mfa' ? '/mfa' : '/mfa/enroll'}?state=${encodeURIComponent(stateText)}`, r.cookies, fromPost ? 303 : 302);
  }
  const tenant = await r.ctx.deps.store.tenants.get(state.t);
  if (!tenant) return stateInvalid(r);
  return renderLogin(r, stateText, tenant, app, 200);
}

async function renderLogin(r: Req, stateText: string | null, tenant: Tenant, app: App | null, status: number, error?: { code: ErrorCode; message?: string }, username?: string) {
  const settings = await r.ctx.deps.directory.settings.get(tenant.id);
  const federation = settings.oidc ? { label: settings.oidc.displayName, url: oidcStartUrl(stateText, tenant.id) } : null;
  sendHtml(
    r.res,
    status,
    loginPage({
      hidden: hiddenFor(r, stateText),
      tenantName: tenant.displayName,
      appName: app?.name ?? null,
      appHost: app ? new URL(app.externalUrl).host : null,
      username,
      error: error ? { code: error.code, message: error.message ?? catalogue[error.code].title } : undefined,
      federation,
      passkeyUrl: stateText ? `/passkey/signin?state=${encodeURIComponent(stateText)}` : '/passkey/signin',
      allowPersistent: settings.allowPersistentSessions,
    }),
    r.cookies,
  );
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
    .map((app) => ({ name: app.name, url: `${app.externalUrl}/` }));
}

/** Access decision for the app, then the one-time code to its host (or the denial page with its code). */
async function handOff(r: Req, central: CentralSession, state: SigninState, stateText: string, app: App, fromPost: boolean) {
  const { directory } = r.ctx.deps;
  const facts = await directory.access.facts(central.tenantId, central.userId);
  const assigned = facts ? await directory.assignments.appsForUser(central.tenantId, central.userId) : [];
  const decision = decideAccess(facts, app.id, assigned);
  const mfaMethod = central.authMethods.find((m) => m === 'totp' || m === 'recovery' || m === 'webauthn') ?? null;
  await writeLog(r.ctx, r.req, r.cid, {
    tenantId: central.tenantId,
    event: 'access',
    userId: central.userId,
    username: facts?.user.upn ?? null,
    appId: app.id,
    result: decision.allow ? 'success' : 'denied',
    code: decision.allow ? null : decision.code,
    authMethod: central.authMethods[0] ?? null,
    mfaMethod,
    detail: decision.allow ? { reason: decision.reason, sku: decision.sku } : { reason: decision.reason, detail: decision.detail },
  });
  if (!decision.allow) {
    if (decision.reason === 'user-unknown') {
      await r.ctx.sessions.deleteCentral(central.id);
      return sendError(r.req, r.res, decision.code, r.cid, undefined, [...r.cookies, clearCookie(CENTRAL_COOKIE)]);
    }
    return sendHtml(
      r.res,
      catalogue[decision.code].status,
      deniedPage({ code: decision.code, correlationId: r.cid, upn: facts?.user.upn ?? '', appName: app.name, signout: hiddenFor(r, null) }),
      r.cookies,
    );
  }
  const code = newSecret(32);
  await r.ctx.sessions.putCode(code, { tenantId: central.tenantId, appId: app.id, centralId: central.id, userId: central.userId, nonce: state.n }, CODE_TTL_SECONDS);
  const target = `${appOrigin(app)}/.drawbridge/auth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(stateText)}`;
  redirect(r.res, target, r.cookies, fromPost ? 303 : 302);
}

function lockedMessage(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  return `This account is locked for ${minutes} more minute${minutes === 1 ? '' : 's'} after too many failed attempts.`;
}

/** POST /login: CSRF, rate limits, lockout, password; then the second step or the hand-off. */
async function postLogin(r: Req) {
  const { ctx, req } = r;
  const form = await readForm(req);
  const stateText = form.get('state');
  const state = stateText ? decodeState(ctx.keys.key('state'), stateText, ctx.now()) : null;
  if (stateText && !state) return stateInvalid(r);
  const tenant = await resolveTenant(ctx, state?.t ?? null);
  if (!tenant) return sendError(req, r.res, 'DB-SIGNIN-TENANT-UNKNOWN', r.cid, undefined, r.cookies);
  const app = state ? await stateApp(ctx, state) : null;
  if (state && !app) return stateInvalid(r, 'The application no longer exists or no longer requires sign-in.');
  const username = (form.get('username') ?? '').trim().slice(0, 254);
  const password = form.get('password') ?? '';
  const base = { tenantId: tenant.id, event: 'signin', username, appId: app?.id ?? null, authMethod: 'password' };

  if (!csrfValid(ctx, req, form.get('csrf'))) {
    await writeLog(ctx, req, r.cid, { ...base, result: 'failure', code: 'DB-SIGNIN-CSRF' });
    return renderLogin(r, stateText, tenant, app, 403, { code: 'DB-SIGNIN-CSRF', message: 'The form expired. Please sign in again.' }, username);
  }
  const ip = clientIp(req) ?? 'unknown';
  const byIp = ctx.ipLimiter.hit(`${ip}`);
  const byAccount = ctx.accountLimiter.hit(`${tenant.id}:${username.toLowerCase()}`);
  if (!byIp.allowed || !byAccount.allowed) {
    await writeLog(ctx, req, r.cid, { ...base, result: 'failure', code: 'DB-SIGNIN-RATE-LIMITED', detail: { limit: byIp.allowed ? 'account' : 'ip' } });
    r.res.setHeader('retry-after', String(Math.max(byIp.retryAfter, byAccount.retryAfter)));
    return renderLogin(r, stateText, tenant, app, 429, { code: 'DB-SIGNIN-RATE-LIMITED', message: `Too many attempts. Wait ${Math.max(byIp.retryAfter, byAccount.retryAfter)} seconds and try again.` }, username);
  }

  const { directory } = ctx.deps;
  const user = username ? await directory.users.findByLogin(tenant.id, username) : null;
  // Unknown names go through the same count, lock and password work as real ones: no answer tells them apart.
  const lock = await ctx.lockout.bucket(tenant.id, username, user, clientIp(req));
  const locked = lock.remaining();
  if (locked > 0) {
    // Spend the same time as a real check so a lock does not reveal itself by speed.
    await verifyPassword(password, null);
    await writeLog(ctx, req, r.cid, { ...base, userId: user?.id ?? null, username: user?.upn ?? username, result: 'failure', code: 'DB-SIGNIN-LOCKED-OUT', detail: { lockSeconds: locked, familiar: lock.familiar } });
    return renderLogin(r, stateText, tenant, app, 403, { code: 'DB-SIGNIN-LOCKED-OUT', message: lockedMessage(locked) }, username);
  }
  const hash = user?.hasPassword ? await directory.users.passwordHash(tenant.id, user.id) : null;
  const ok = await verifyPassword(password, hash);
  if (!ok || !user) {
    const lockSeconds = await lock.fail();
    const lockedNow = lockSeconds > 0;
    const code: ErrorCode = lockedNow ? 'DB-SIGNIN-LOCKED-OUT' : 'DB-SIGNIN-BAD-CREDENTIALS';
    await writeLog(ctx, req, r.cid, { ...base, userId: user?.id ?? null, username: user?.upn ?? username, result: 'failure', code, detail: { reason: user ? (user.hasPassword ? 'wrong-password' : 'no-password') : 'unknown-user', familiar: lock.familiar } });
    return renderLogin(r, stateText, tenant, app, lockedNow ? 403 : 401, {
      code,
      message: lockedNow ? lockedMessage(lockSeconds) : 'The user name or password is not right.',
    }, username);
  }
  if (!user.enabled) {
    await writeLog(ctx, req, r.cid, { ...base, userId: user.id, username: user.upn, result: 'denied', code: 'DB-ACCESS-ACCOUNT-DISABLED' });
    return sendError(req, r.res, 'DB-ACCESS-ACCOUNT-DISABLED', r.cid, undefined, r.cookies);
  }
  if (hash && needsRehash(hash)) await directory.users.setPasswordHash(tenant.id, user.id, await hashPassword(password));

  const settings = await directory.settings.get(tenant.id);
  const remember = settings.allowPersistentSessions && form.get('remember') === '1';
  const central = await startCentral(r, tenant.id, user.id, ['password'], remember);
  // The failure counter resets only when the sign-in is complete: a right password alone must not wipe the
  // failures of second-factor guessing (completeMfa records the sign-in when the second factor passes).
  if (central.stage === 'done') await ctx.lockout.signedIn(tenant.id, user.id);
  await afterPrimary(r, central, stateText, base);
}

/** Replaces any previous sign-in of this browser with a fresh session (new id: no fixation). */
export async function startCentralSession(ctx: Ctx, req: IncomingMessage, tenantId: string, userId: string, authMethods: string[], persistent: boolean, multiFactor = false): Promise<CentralSession> {
  const previous = await currentCentral(ctx, req);
  if (previous) await ctx.sessions.deleteCentral(previous.id);
  const settings = await ctx.deps.directory.settings.get(tenantId);
  const methods = await ctx.deps.directory.mfa.methods(tenantId, userId);
  const t = ctx.now();
  const session: CentralSession = {
    id: newSecret(32),
    tenantId,
    userId,
    authMethods,
    stage: multiFactor ? 'done' : methods.totp || methods.webauthn ? 'mfa' : settings.requireMfa ? 'enroll' : 'done',
    persistent,
    createdAt: t,
    lastSeenAt: t,
    idleSeconds: settings.sessionIdleSeconds,
    absoluteSeconds: settings.sessionAbsoluteSeconds,
    mfaFailures: 0,
  };
  await ctx.sessions.putCentral(session);
  return session;
}

async function startCentral(r: Req, tenantId: string, userId: string, authMethods: string[], persistent: boolean) {
  return startCentralSession(r.ctx, r.req, tenantId, userId, authMethods, persistent);
}

/** After the first factor (password or federation): log, set the cookie, and go to MFA, enrolment or the app. */
async function afterPrimary(r: Req, central: CentralSession, stateText: string | null, base?: { tenantId: string; event: string; username: string; appId: string | null; authMethod: string; mfaMethod?: string }) {
  const user = await r.ctx.deps.directory.users.get(central.tenantId, central.userId);
  const entry = base ?? { tenantId: central.tenantId, event: 'signin', username: user?.upn ?? '', appId: null, authMethod: central.authMethods[0] };
  if (central.stage === 'done') {
    await writeLog(r.ctx, r.req, r.cid, { ...entry, userId: central.userId, username: user?.upn ?? entry.username, result: 'success' });
  } else {
    await writeLog(r.ctx, r.req, r.cid, {
      ...entry,
      userId: central.userId,
      username: user?.upn ?? entry.username,
      result: 'interrupted',
      code: 'DB-SIGNIN-MFA-REQUIRED',
      detail: { next: central.stage === 'mfa' ? 'verify' : 'enrol' },
    });
  }
  const cookies = [...r.cookies, centralCookie(r.ctx, central)];
  const q = stateText ? `?state=${encodeURIComponent(stateText)}` : '';
  const next = central.stage === 'mfa' ? `/mfa${q}` : central.stage === 'enroll' ? `/mfa/enroll${q}` : stateText ? `/authorize${q}` : '/';
  redirect(r.res, next, cookies, 303);
}

/** The central session waiting for the given stage, or a redirect to where this browser really is. */
async function pending(r: Req, stage: 'mfa' | 'enroll', stateText: string | null): Promise<CentralSession | null> {
  const central = await currentCentral(r.ctx, r.req);
  if (central && central.stage === stage) return central;
  const q = stateText ? `?state=${encodeURIComponent(stateText)}` : '';
  if (central?.stage === 'done') redirect(r.res, stateText ? `/authorize${q}` : '/', r.cookies, 303);
  else if (central) redirect(r.res, `${central.stage === 'mfa' ? '/mfa' : '/mfa/enroll'}${q}`, r.cookies, 303);
  else if (stateText) redirect(r.res, `/authorize${q}`, r.cookies, 303);
  else sendError(r.req, r.res, 'DB-SESSION-EXPIRED', r.cid, undefined, r.cookies);
  return null;
}

async function renderMfa(r: Req, central: CentralSession, stateText: string | null, status: number, error?: ErrorCode) {
  const { directory } = r.ctx.deps;
  const user = await directory.users.get(central.tenantId, central.userId);
  const methods = await directory.mfa.methods(central.tenantId, central.userId);
  const q = stateText ? `?state=${encodeURIComponent(stateText)}` : '';
  if (!methods.totp && methods.webauthn && !error) return redirect(r.res, `/passkey${q}`, r.cookies);
  sendHtml(
    r.res,
    status,
    mfaPage({
      hidden: hiddenFor(r, stateText),
      upn: user?.upn ?? '',
      error: error ? { code: error, message: error === 'DB-SIGNIN-MFA-FAILED' ? 'That code is not right. Try the current code.' : catalogue[error].title } : undefined,
      passkeyUrl: methods.webauthn ? `/passkey${q}` : null,
      recoveryLeft: methods.recoveryCodes,
    }),
    r.cookies,
  );
}

async function getMfa(r: Req) {
  const stateText = r.url.searchParams.get('state');
  const central = await pending(r, 'mfa', stateText);
  if (central) await renderMfa(r, central, stateText, 200);
}

async function postMfa(r: Req) {
  const { ctx, req } = r;
  const form = await readForm(req);
  const stateText = form.get('state');
  if (!csrfValid(ctx, req, form.get('csrf'))) return sendError(req, r.res, 'DB-SIGNIN-CSRF', r.cid, undefined, r.cookies);
  const central = await pending(r, 'mfa', stateText);
  if (!central) return;
  const { directory } = ctx.deps;
  const code = (form.get('code') ?? '').trim();
  const limited = ctx.accountLimiter.hit(`mfa:${central.tenantId}:${central.userId}`);
  const account = await directory.users.get(central.tenantId, central.userId);
  const lock = account ? await ctx.lockout.bucket(central.tenantId, account.upn, account, clientIp(req)) : null;
  const locked = lock !== null && lock.remaining() > 0;
  let method: 'totp' | 'recovery' | null = null;
  if (limited.allowed && !locked && code) {
    if (/^\d{6}$/.test(code.replace(/\s/g, ''))) {
      const totp = await directory.mfa.getTotp(central.tenantId, central.userId);
      const step = totp?.confirmed ? verifyTotp(totp.secret, code, ctx.now(), totp.lastStep) : null;
      if (step !== null && (await directory.mfa.useTotpStep(central.tenantId, central.userId, step))) method = 'totp';
    } else if (looksLikeRecoveryCode(code)) {
      if (await directory.mfa.useRecoveryCode(central.tenantId, central.userId, hashRecoveryCode(code))) method = 'recovery';
    }
  }
  if (!method) {
    const errCode: ErrorCode = locked ? 'DB-SIGNIN-LOCKED-OUT' : limited.allowed ? 'DB-SIGNIN-MFA-FAILED' : 'DB-SIGNIN-RATE-LIMITED';
    central.mfaFailures++;
    const user = account;
    if (lock && !locked) await lock.fail();
    await writeLog(ctx, req, r.cid, {
      tenantId: central.tenantId,
      event: 'mfa',
      userId: central.userId,
      username: user?.upn ?? null,
      result: 'failure',
      code: errCode,
      authMethod: central.authMethods[0],
      mfaMethod: looksLikeRecoveryCode(code) ? 'recovery' : 'totp',
      detail: { failures: central.mfaFailures },
    });
    if (central.mfaFailures >= MAX_MFA_FAILURES) {
      await ctx.sessions.deleteCentral(central.id);
      return sendError(req, r.res, 'DB-SIGNIN-MFA-FAILED', r.cid, 'Too many wrong codes: start signing in again.', [...r.cookies, clearCookie(CENTRAL_COOKIE)]);
    }
    await ctx.sessions.putCentral(central);
    return renderMfa(r, central, stateText, locked ? 403 : limited.allowed ? 401 : 429, errCode);
  }
  await completeMfa(r, central, stateText, method);
}

/** Second factor passed: rotate the session id, mark it done, log, and continue to the app. */
async function completeMfa(r: Req, central: CentralSession, stateText: string | null, method: string) {
  const { ctx } = r;
  await ctx.sessions.deleteCentral(central.id);
  const upgraded: CentralSession = { ...central, id: newSecret(32), stage: 'done', authMethods: [...central.authMethods, method], mfaFailures: 0 };
  await ctx.sessions.putCentral(upgraded);
  const user = await ctx.deps.directory.users.get(central.tenantId, central.userId);
  if (user) await ctx.lockout.signedIn(central.tenantId, user.id);
  await writeLog(ctx, r.req, r.cid, {
    tenantId: central.tenantId,
    event: 'mfa',
    userId: central.userId,
    username: user?.upn ?? null,
    result: 'success',
    authMethod: central.authMethods[0],
    mfaMethod: method,
  });
  const q = stateText ? `?state=${encodeURIComponent(stateText)}` : '';
  redirect(r.res, stateText ? `/authorize${q}` : '/', [...r.cookies, centralCookie(ctx, upgraded)], 303);
}

async function renderEnroll(r: Req, central: CentralSession, stateText: string | null, status: number, error?: ErrorCode) {
  const { directory } = r.ctx.deps;
  const user = await directory.users.get(central.tenantId, central.userId);
  let totp = await directory.mfa.getTotp(central.tenantId, central.userId);
  if (!totp || totp.confirmed) {
    await directory.mfa.setTotp(central.tenantId, central.userId, generateTotpSecret(), false);
    totp = await directory.mfa.getTotp(central.tenantId, central.userId);
  }
  const secret = (totp as { secret: string }).secret;
  const tenant = await r.ctx.deps.store.tenants.get(central.tenantId);
  const uri = otpauthUri(secret, user?.upn ?? central.userId, `Drawbridge ${tenant?.displayName ?? ''}`.trim());
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 0 });
  sendHtml(
    r.res,
    status,
    enrollPage({
      hidden: hiddenFor(r, stateText),
      upn: user?.upn ?? '',
      qrSvgDataUri: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
      secret,
      passkeyUrl: `/passkey/register${stateText ? `?state=${encodeURIComponent(stateText)}` : ''}`,
      error: error ? { code: error, message: 'That code is not right. Enter the code the app shows now.' } : undefined,
    }),
    r.cookies,
  );
}

async function getEnroll(r: Req) {
  const stateText = r.url.searchParams.get('state');
  const central = await pending(r, 'enroll', stateText);
  if (central) await renderEnroll(r, central, stateText, 200);
}

async function postEnroll(r: Req) {
  const { ctx, req } = r;
  const form = await readForm(req);
  const stateText = form.get('state');
  if (!csrfValid(ctx, req, form.get('csrf'))) return sendError(req, r.res, 'DB-SIGNIN-CSRF', r.cid, undefined, r.cookies);
  const central = await pending(r, 'enroll', stateText);
  if (!central) return;
  const { directory } = ctx.deps;
  const totp = await directory.mfa.getTotp(central.tenantId, central.userId);
  const limited = ctx.accountLimiter.hit(`mfa:${central.tenantId}:${central.userId}`);
  const step = totp && !totp.confirmed && limited.allowed ? verifyTotp(totp.secret, form.get('code') ?? '', ctx.now(), null) : null;
  if (step === null) {
    await writeLog(ctx, req, r.cid, { tenantId: central.tenantId, event: 'mfa-enrol', userId: central.userId, result: 'failure', code: 'DB-SIGNIN-MFA-FAILED', mfaMethod: 'totp', authMethod: central.authMethods[0] });
    return renderEnroll(r, central, stateText, 401, 'DB-SIGNIN-MFA-FAILED');
  }
  await directory.mfa.confirmTotp(central.tenantId, central.userId, step);
  const codes = generateRecoveryCodes();
  await directory.mfa.setRecoveryCodes(central.tenantId, central.userId, codes.map(hashRecoveryCode));
  await ctx.sessions.deleteCentral(central.id);
  const upgraded: CentralSession = { ...central, id: newSecret(32), stage: 'done', authMethods: [...central.authMethods, 'totp'] };
  await ctx.sessions.putCentral(upgraded);
  await writeLog(ctx, req, r.cid, { tenantId: central.tenantId, event: 'mfa-enrol', userId: central.userId, result: 'success', mfaMethod: 'totp', authMethod: central.authMethods[0] });
  const q = stateText ? `?state=${encodeURIComponent(stateText)}` : '';
  sendHtml(r.res, 200, recoveryCodesPage({ codes, continueUrl: stateText ? `/authorize${q}` : '/' }), [...r.cookies, centralCookie(ctx, upgraded)]);
}

async function getSignout(r: Req) {
  const central = await currentCentral(r.ctx, r.req);
  if (!central) return sendHtml(r.res, 200, signedOutPage(), [...r.cookies, clearCookie(CENTRAL_COOKIE)]);
  const user = await r.ctx.deps.directory.users.get(central.tenantId, central.userId);
  sendHtml(r.res, 200, signoutConfirmPage({ hidden: hiddenFor(r, null), upn: user?.upn ?? null }), r.cookies);
}

/** Ends the central session and with it every app session it opened (the store is authoritative). */
async function postSignout(r: Req) {
  const { ctx, req } = r;
  const form = await readForm(req);
  if (!csrfValid(ctx, req, form.get('csrf'))) return sendError(req, r.res, 'DB-SIGNIN-CSRF', r.cid, undefined, r.cookies);
  const central = await currentCentral(ctx, req);
  if (central) {
    await ctx.sessions.deleteCentral(central.id);
    const user = await ctx.deps.directory.users.get(central.tenantId, central.userId);
    await writeLog(ctx, req, r.cid, { tenantId: central.tenantId, event: 'signout', userId: central.userId, username: user?.upn ?? null, result: 'success', authMethod: central.authMethods[0] });
  }
  sendHtml(r.res, 200, signedOutPage(), [...r.cookies, clearCookie(CENTRAL_COOKIE)]);
}
