/**
 * The steps every sign-in method shares, whichever proved the first factor: the sign-in page, starting the central
 * session, sending the browser on to the second step (or enrolment), completing the second factor, the access
 * decision and one-time-code hand-off to the app host, and the sign-in log. Methods import these; nothing here
 * imports a method, so there is no cycle.
 */
import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { catalogue } from '../../errors/catalogue.ts';
import type { SigninLogEntry } from '../../store/directory-types.ts';
import type { App, Tenant } from '../../store/types.ts';
import { consoleApp, CONSOLE_APP_ID, decideFor } from './console-access.ts';
import { appOrigin, centralCookie, currentCentral, type Ctx } from './context.ts';
import { CENTRAL_COOKIE, clearCookie } from './cookies.ts';
import { clientIp, redirect, sendError, sendHtml, userAgent, type Reply } from './http.ts';
import { isMfaMethod, type AuthMethod, type MfaMethod, type SigninEvent } from './names.ts';
import { deniedPage, loginPage, type Hidden } from './pages.ts';
import { newSecret, type CentralSession } from './sessions.ts';
import { putCode } from './one-time.ts';
import { policyLog } from './conditional-access.ts';
import { decodeState, type SigninState } from './state.ts';

const CODE_TTL_SECONDS = 60;

/** One request to the sign-in host: the reply, the parsed URL, and this browser's CSRF token. */
export interface SigninRequest extends Reply {
  ctx: Ctx;
  url: URL;
  /** Browser binding: CSRF token for the forms on this page. */
  csrf: string;
}

export type LogInput = Omit<
  SigninLogEntry,
  | 'id'
  | 'time'
  | 'clientIp'
  | 'userAgent'
  | 'correlationId'
  | 'detail'
  | 'userId'
  | 'username'
  | 'appId'
  | 'code'
  | 'authMethod'
  | 'mfaMethod'
  | 'event'
> &
  Partial<Pick<SigninLogEntry, 'userId' | 'username' | 'appId' | 'code' | 'detail'>> & {
    event: SigninEvent;
    authMethod?: AuthMethod | null;
    mfaMethod?: MfaMethod | null;
  };

/** Writes one sign-in log row; a failure to log is itself logged and never breaks the sign-in. */
export async function writeLog(ctx: Ctx, req: IncomingMessage, correlationId: string, entry: LogInput): Promise<void> {
  const row = {
    userId: null,
    username: null,
    appId: null,
    code: null as string | null | ErrorCode,
    authMethod: null,
    mfaMethod: null,
    detail: {},
    ...entry,
    clientIp: clientIp(req),
    userAgent: userAgent(req),
    correlationId,
  };
  ctx.deps.countSignin?.(row.event, row.result);
  try {
    await ctx.deps.directory.signinLog.append(row);
  } catch (err) {
    ctx.deps.logger.error({ err, correlationId }, 'sign-in log write failed');
  }
  ctx.deps.logger.info(
    {
      correlationId,
      signin: {
        event: row.event,
        result: row.result,
        code: row.code,
        tenantId: row.tenantId,
        userId: row.userId,
        appId: row.appId,
        ip: row.clientIp,
      },
    },
    'sign-in event',
  );
}

export function hiddenFor(r: SigninRequest, stateText: string | null): Hidden {
  return { csrf: r.csrf, state: stateText };
}

/** `?state=…` to carry the sign-in state on to the next page, or nothing. */
export function stateQuery(stateText: string | null): string {
  return stateText ? `?state=${encodeURIComponent(stateText)}` : '';
}

/** The tenant of a sign-in: the state's, or the only one there is. */
export async function resolveTenant(ctx: Ctx, tenantId: string | null): Promise<Tenant | null> {
  if (tenantId) return ctx.deps.store.tenants.get(tenantId);
  const all = await ctx.deps.store.tenants.list();
  return all.length === 1 ? all[0] : null;
}

/** The app a state names, while it still exists and requires sign-in. */
export async function stateApp(ctx: Ctx, state: SigninState): Promise<App | null> {
  // The admin console signs in like an app (console-access.ts), for a tenant that exists.
  if (state.appId === CONSOLE_APP_ID)
    return (await ctx.deps.store.tenants.get(state.tenantId)) ? consoleApp(state.tenantId, ctx.consoleOrigin) : null;
  const app = await ctx.deps.store.apps.get(state.tenantId, state.appId);
  return app && app.enabled && app.preAuth === 'idp' ? app : null;
}

export function stateInvalid(r: SigninRequest, detail?: string): void {
  sendError(r.req, r.res, 'DB-SIGNIN-STATE-INVALID', r.correlationId, detail, r.cookies);
}

/**
 * The sign-in page: the password form and every other method the tenant offers. Where a provider owns an e-mail
 * domain the page asks for the name first (home realm discovery, /oidc/discover); with the name known, the password.
 */
export async function showSigninPage(
  r: SigninRequest,
  stateText: string | null,
  tenant: Tenant,
  app: App | null,
  status: number,
  error?: { code: ErrorCode; message?: string },
  username?: string,
): Promise<void> {
  const [settings, providers] = await Promise.all([
    r.ctx.deps.directory.settings.get(tenant.id),
    r.ctx.deps.directory.settings.providers(tenant.id),
  ]);
  const identifierFirst = !username && providers.some((p) => p.domains.length > 0);
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
      alternatives: await r.ctx.signinAlternatives(tenant.id, stateText),
      allowPersistent: settings.allowPersistentSessions,
      identifierFirst,
    }),
    r.cookies,
  );
}

/**
 * Replaces any previous sign-in of this browser with a fresh session (new id: no fixation). It waits for the second
 * step when the user has a second factor (or must enrol one), unless the method already proved two factors.
 */
export async function startCentralSession(
  ctx: Ctx,
  req: IncomingMessage,
  tenantId: string,
  userId: string,
  authMethods: AuthMethod[],
  persistent: boolean,
  multiFactor = false,
): Promise<CentralSession> {
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

/** What the first factor's log row says, when the method knows more than the session does. */
export interface FirstFactorLog {
  tenantId: string;
  event: SigninEvent;
  username: string;
  appId: string | null;
  authMethod: AuthMethod;
  mfaMethod?: MfaMethod;
}

/** After the first factor: log, set the cookie, and go to the second step, enrolment or the app. */
export async function finishFirstFactor(
  r: SigninRequest,
  central: CentralSession,
  stateText: string | null,
  base?: FirstFactorLog,
): Promise<void> {
  const user = await r.ctx.deps.directory.users.get(central.tenantId, central.userId);
  const entry = base ?? {
    tenantId: central.tenantId,
    event: 'signin' as const,
    username: user?.upn ?? '',
    appId: null,
    authMethod: central.authMethods[0],
  };
  if (central.stage === 'done') {
    await writeLog(r.ctx, r.req, r.correlationId, {
      ...entry,
      userId: central.userId,
      username: user?.upn ?? entry.username,
      result: 'success',
    });
  } else {
    await writeLog(r.ctx, r.req, r.correlationId, {
      ...entry,
      userId: central.userId,
      username: user?.upn ?? entry.username,
      result: 'interrupted',
      code: 'DB-SIGNIN-MFA-REQUIRED',
      detail: { next: central.stage === 'mfa' ? 'verify' : 'enrol' },
    });
  }
  const cookies = [...r.cookies, centralCookie(r.ctx, central)];
  const q = stateQuery(stateText);
  const next =
    central.stage === 'mfa'
      ? `/mfa${q}`
      : central.stage === 'enroll'
        ? `/mfa/enroll${q}`
        : stateText
          ? `/authorize${q}`
          : '/';
  redirect(r.res, next, cookies, 303);
}

/** A sign-in one method proved whole (a passkey with user verification): a central session with both factors. */
export async function signedInWithBothFactors(
  r: SigninRequest,
  tenantId: string,
  userId: string,
  stateText: string | null,
  method: AuthMethod & MfaMethod,
): Promise<void> {
  await r.ctx.lockout.signedIn(tenantId, userId);
  const central = await startCentralSession(r.ctx, r.req, tenantId, userId, [method], false, true);
  const state = stateText ? decodeState(r.ctx.keys.key('state'), stateText, r.ctx.now()) : null;
  await finishFirstFactor(r, central, stateText, {
    tenantId,
    event: 'signin',
    username: '',
    appId: state?.appId ?? null,
    authMethod: method,
    mfaMethod: method,
  });
}

/** Second factor passed: rotate the session id, mark it done, log, and continue to the app. */
export async function completeSecondFactor(
  r: SigninRequest,
  central: CentralSession,
  stateText: string | null,
  method: MfaMethod,
): Promise<void> {
  const { ctx } = r;
  await ctx.sessions.deleteCentral(central.id);
  const upgraded: CentralSession = {
    ...central,
    id: newSecret(32),
    stage: 'done',
    authMethods: [...central.authMethods, method],
    mfaFailures: 0,
  };
  await ctx.sessions.putCentral(upgraded);
  const user = await ctx.deps.directory.users.get(central.tenantId, central.userId);
  if (user) await ctx.lockout.signedIn(central.tenantId, user.id);
  await writeLog(ctx, r.req, r.correlationId, {
    tenantId: central.tenantId,
    event: 'mfa',
    userId: central.userId,
    username: user?.upn ?? null,
    result: 'success',
    authMethod: central.authMethods[0],
    mfaMethod: method,
  });
  redirect(
    r.res,
    stateText ? `/authorize${stateQuery(stateText)}` : '/',
    [...r.cookies, centralCookie(ctx, upgraded)],
    303,
  );
}

/** The central session waiting for the given stage, or null after sending the browser to where it really is. */
export async function pendingStage(
  r: SigninRequest,
  stage: 'mfa' | 'enroll',
  stateText: string | null,
): Promise<CentralSession | null> {
  const central = await currentCentral(r.ctx, r.req);
  if (central && central.stage === stage) return central;
  const q = stateQuery(stateText);
  if (central?.stage === 'done') redirect(r.res, stateText ? `/authorize${q}` : '/', r.cookies, 303);
  else if (central) redirect(r.res, `${central.stage === 'mfa' ? '/mfa' : '/mfa/enroll'}${q}`, r.cookies, 303);
  else if (stateText) redirect(r.res, `/authorize${q}`, r.cookies, 303);
  else sendError(r.req, r.res, 'DB-SESSION-EXPIRED', r.correlationId, undefined, r.cookies);
  return null;
}

/**
 * Access decision for the app, then conditional access, then the one-time code to its host (or the denial page with
 * its code). A policy that wants more than the session proved sends the browser to the step it needs: the second
 * factor, or registering one when the user has none (a passkey when only a passkey will do); a sign-in older than a
 * policy's frequency starts over. Every policy evaluated goes into the log entry, report-only ones as "would have".
 */
export async function handOff(
  r: SigninRequest,
  central: CentralSession,
  state: SigninState,
  stateText: string,
  app: App,
  fromPost: boolean,
): Promise<void> {
  const { directory } = r.ctx.deps;
  const facts = await directory.access.facts(central.tenantId, central.userId);
  const assigned = facts ? await directory.assignments.appsForUser(central.tenantId, central.userId) : [];
  const decision = decideFor(app, facts, assigned);
  const mfaMethod = central.authMethods.find(isMfaMethod) ?? null;
  const groupIds = facts?.groups.map((g) => g.id) ?? [];
  const ca = decision.allow
    ? await r.ctx.access.atSignin(r.req, {
        tenantId: central.tenantId,
        userId: central.userId,
        groupIds,
        appId: app.id,
        authMethods: central.authMethods,
        authenticatedAt: central.createdAt,
      })
    : null;
  const verdict = ca?.evaluation.verdict ?? { allow: true as const };
  const caDetail = ca
    ? { policies: policyLog(ca.evaluation), risk: ca.risk, ...(ca.country ? { country: ca.country } : {}) }
    : {};
  const stepUp = !verdict.allow && verdict.outcome !== 'block';
  await writeLog(r.ctx, r.req, r.correlationId, {
    tenantId: central.tenantId,
    event: 'access',
    userId: central.userId,
    username: facts?.user.upn ?? null,
    appId: app.id,
    result: !decision.allow ? 'denied' : verdict.allow ? 'success' : stepUp ? 'interrupted' : 'denied',
    code: !decision.allow ? decision.code : verdict.allow ? null : verdict.code,
    authMethod: central.authMethods[0] ?? null,
    mfaMethod,
    detail: !decision.allow
      ? { reason: decision.reason, detail: decision.detail }
      : verdict.allow
        ? { reason: decision.reason, sku: decision.sku, ...caDetail }
        : { reason: 'conditional-access', policy: { id: verdict.policyId, name: verdict.policyName }, ...caDetail },
  });
  if (!decision.allow) {
    if (decision.reason === 'user-unknown') {
      await r.ctx.sessions.deleteCentral(central.id);
      return sendError(r.req, r.res, decision.code, r.correlationId, undefined, [
        ...r.cookies,
        clearCookie(CENTRAL_COOKIE),
      ]);
    }
    return sendHtml(
      r.res,
      catalogue[decision.code].status,
      deniedPage({
        code: decision.code,
        correlationId: r.correlationId,
        upn: facts?.user.upn ?? '',
        appName: app.name,
        signout: hiddenFor(r, null),
      }),
      r.cookies,
    );
  }
  if (!verdict.allow) {
    const q = stateQuery(stateText);
    const status = fromPost ? 303 : 302;
    if (verdict.outcome === 'block') {
      return sendHtml(
        r.res,
        catalogue[verdict.code].status,
        deniedPage({
          code: verdict.code,
          correlationId: r.correlationId,
          upn: facts?.user.upn ?? '',
          appName: app.name,
          signout: hiddenFor(r, null),
        }),
        r.cookies,
      );
    }
    if (verdict.outcome === 'reauth-required') {
      await r.ctx.sessions.deleteCentral(central.id);
      const tenant = await r.ctx.deps.store.tenants.get(central.tenantId);
      r.cookies.push(clearCookie(CENTRAL_COOKIE));
      if (!tenant) return stateInvalid(r);
      return showSigninPage(
        r,
        stateText,
        tenant,
        app,
        catalogue[verdict.code].status,
        { code: verdict.code },
        facts?.user.upn,
      );
    }
    const methods = await directory.mfa.methods(central.tenantId, central.userId);
    const passkeyOnly = verdict.outcome === 'phishing-resistant-required';
    const has = passkeyOnly ? methods.webauthn : methods.totp || methods.webauthn;
    await r.ctx.sessions.putCentral({ ...central, stage: has ? 'mfa' : 'enroll' });
    const next = passkeyOnly ? (has ? '/passkey' : '/passkey/register') : has ? '/mfa' : '/mfa/enroll';
    return redirect(r.res, `${next}${q}`, r.cookies, status);
  }
  const code = newSecret(32);
  const persistent = ca?.evaluation.persistentSession;
  await putCode(
    r.ctx.state,
    code,
    {
      tenantId: central.tenantId,
      appId: app.id,
      centralId: central.id,
      userId: central.userId,
      nonce: state.nonce,
      groupIds,
      risk: ca?.risk.level ?? 'none',
      ...(persistent ? { persistent: persistent === 'always' } : {}),
    },
    CODE_TTL_SECONDS,
  );
  const target = `${appOrigin(app)}/.drawbridge/auth/callback?code=${encodeURIComponent(code)}&state=${encodeURIComponent(stateText)}`;
  redirect(r.res, target, r.cookies, fromPost ? 303 : 302);
}
