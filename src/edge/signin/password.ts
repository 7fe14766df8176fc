/**
 * Sign-in with the directory's password: the form on the sign-in page posts here. CSRF, rate limits, smart lockout
 * (edge/signin/lockout.ts), the password check; then the shared steps take over.
 */
import { isServiceTokenUpn } from './service-tokens.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { hashPassword, needsRehash, verifyPassword } from '../../identity/password.ts';
import { csrfValid } from './context.ts';
import { clientIp, readForm, redirect, sendError } from './http.ts';
import type { SigninMethod } from './method.ts';
import { decodeState } from './state.ts';
import {
  finishFirstFactor,
  resolveTenant,
  showSigninPage,
  startCentralSession,
  stateApp,
  stateInvalid,
  writeLog,
  type FirstFactorLog,
  type SigninRequest,
} from './steps.ts';

export const passwordMethod: SigninMethod = {
  name: 'password',
  paths: ['/login'],
  async handle(r) {
    const method = r.req.method ?? 'GET';
    if (method === 'POST') {
      await postLogin(r);
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') return false;
    // The form lives on /authorize (or / without an app): a GET here goes back there.
    const stateText = r.url.searchParams.get('state');
    redirect(r.res, stateText ? `/authorize?state=${encodeURIComponent(stateText)}` : '/');
    return true;
  },
};

function lockedMessage(seconds: number): string {
  const minutes = Math.ceil(seconds / 60);
  return `This account is locked for ${minutes} more minute${minutes === 1 ? '' : 's'} after too many failed attempts.`;
}

/** POST /login: CSRF, rate limits, lockout, password; then the second step or the hand-off. */
async function postLogin(r: SigninRequest): Promise<void> {
  const { ctx, req } = r;
  const form = await readForm(req);
  const stateText = form.get('state');
  const state = stateText ? decodeState(ctx.keys.key('state'), stateText, ctx.now()) : null;
  if (stateText && !state) return stateInvalid(r);
  const tenant = await resolveTenant(ctx, state?.tenantId ?? null);
  if (!tenant) return sendError(req, r.res, 'DB-SIGNIN-TENANT-UNKNOWN', r.correlationId, undefined, r.cookies);
  const app = state ? await stateApp(ctx, state) : null;
  if (state && !app) return stateInvalid(r, 'The application no longer exists or no longer requires sign-in.');
  const username = (form.get('username') ?? '').trim().slice(0, 254);
  const password = form.get('password') ?? '';
  const base: FirstFactorLog = {
    tenantId: tenant.id,
    event: 'signin',
    username,
    appId: app?.id ?? null,
    authMethod: 'password',
  };

  if (!csrfValid(ctx, req, form.get('csrf'))) {
    await writeLog(ctx, req, r.correlationId, { ...base, result: 'failure', code: 'DB-SIGNIN-CSRF' });
    return showSigninPage(
      r,
      stateText,
      tenant,
      app,
      403,
      { code: 'DB-SIGNIN-CSRF', message: 'The form expired. Please sign in again.' },
      username,
    );
  }
  const ip = clientIp(req) ?? 'unknown';
  const [byIp, byAccount] = await Promise.all([
    ctx.ipLimiter.hit(`${ip}`),
    ctx.accountLimiter.hit(`${tenant.id}:${username.toLowerCase()}`),
  ]);
  if (!byIp.allowed || !byAccount.allowed) {
    await writeLog(ctx, req, r.correlationId, {
      ...base,
      result: 'failure',
      code: 'DB-SIGNIN-RATE-LIMITED',
      detail: { limit: byIp.allowed ? 'account' : 'ip' },
    });
    r.res.setHeader('retry-after', String(Math.max(byIp.retryAfter, byAccount.retryAfter)));
    return showSigninPage(
      r,
      stateText,
      tenant,
      app,
      429,
      {
        code: 'DB-SIGNIN-RATE-LIMITED',
        message: `Too many attempts. Wait ${Math.max(byIp.retryAfter, byAccount.retryAfter)} seconds and try again.`,
      },
      username,
    );
  }

  const { directory } = ctx.deps;
  const user = username ? await directory.users.findByLogin(tenant.id, username) : null;
  // Unknown names go through the same count, lock and password work as real ones: no answer tells them apart.
  const lock = await ctx.lockout.bucket(tenant.id, username, user, clientIp(req));
  const locked = lock.remaining();
  if (locked > 0) {
    // Spend the same time as a real check so a lock does not reveal itself by speed.
    await verifyPassword(password, null);
    await writeLog(ctx, req, r.correlationId, {
      ...base,
      userId: user?.id ?? null,
      username: user?.upn ?? username,
      result: 'failure',
      code: 'DB-SIGNIN-LOCKED-OUT',
      detail: { lockSeconds: locked, familiar: lock.familiar },
    });
    return showSigninPage(
      r,
      stateText,
      tenant,
      app,
      403,
      { code: 'DB-SIGNIN-LOCKED-OUT', message: lockedMessage(locked) },
      username,
    );
  }
  // A service token's secret opens TCP channels only (service-tokens.ts), never a browser session.
  const hash =
    user?.hasPassword && !isServiceTokenUpn(user.upn) ? await directory.users.passwordHash(tenant.id, user.id) : null;
  const ok = await verifyPassword(password, hash);
  if (!ok || !user) {
    const lockSeconds = await lock.fail();
    const lockedNow = lockSeconds > 0;
    const code: ErrorCode = lockedNow ? 'DB-SIGNIN-LOCKED-OUT' : 'DB-SIGNIN-BAD-CREDENTIALS';
    await writeLog(ctx, req, r.correlationId, {
      ...base,
      userId: user?.id ?? null,
      username: user?.upn ?? username,
      result: 'failure',
      code,
      detail: {
        reason: user ? (user.hasPassword ? 'wrong-password' : 'no-password') : 'unknown-user',
        familiar: lock.familiar,
      },
    });
    return showSigninPage(
      r,
      stateText,
      tenant,
      app,
      lockedNow ? 403 : 401,
      {
        code,
        message: lockedNow ? lockedMessage(lockSeconds) : 'The user name or password is not right.',
      },
      username,
    );
  }
  if (!user.enabled) {
    await writeLog(ctx, req, r.correlationId, {
      ...base,
      userId: user.id,
      username: user.upn,
      result: 'denied',
      code: 'DB-ACCESS-ACCOUNT-DISABLED',
    });
    return sendError(req, r.res, 'DB-ACCESS-ACCOUNT-DISABLED', r.correlationId, undefined, r.cookies);
  }
  if (hash && needsRehash(hash))
    await directory.users.setPasswordHash(tenant.id, user.id, await hashPassword(password));

  const settings = await directory.settings.get(tenant.id);
  const remember = settings.allowPersistentSessions && form.get('remember') === '1';
  const central = await startCentralSession(ctx, req, tenant.id, user.id, ['password'], remember);
  // The failure counter resets only when the sign-in is complete: a right password alone must not wipe the
  // failures of second-factor guessing (completeSecondFactor records the sign-in when the second factor passes).
  if (central.stage === 'done') await ctx.lockout.signedIn(tenant.id, user.id);
  await finishFirstFactor(r, central, stateText, base);
}
