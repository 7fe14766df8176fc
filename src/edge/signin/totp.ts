/**
 * The second step with an authenticator app: the code (or a recovery code) after the first factor, and enrolment
 * when the tenant requires a second factor the user does not have yet. Wrong codes count towards the lockout.
 */
import QRCode from 'qrcode';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { catalogue } from '../../errors/catalogue.ts';
import { generateRecoveryCodes, hashRecoveryCode, looksLikeRecoveryCode } from '../../identity/recovery-codes.ts';
import { generateTotpSecret, otpauthUri, verifyTotp } from '../../identity/totp.ts';
import { centralCookie, csrfValid } from './context.ts';
import { CENTRAL_COOKIE, clearCookie } from './cookies.ts';
import { clientIp, readForm, redirect, sendError, sendHtml } from './http.ts';
import type { SigninMethod } from './method.ts';
import { enrollPage, mfaPage, recoveryCodesPage } from './pages.ts';
import { newSecret, type CentralSession } from './sessions.ts';
import { completeSecondFactor, hiddenFor, pendingStage, writeLog, type SigninRequest } from './steps.ts';

/** After this many wrong second-factor codes the half-finished sign-in is thrown away. */
const MAX_MFA_FAILURES = 5;

export const totpMethod: SigninMethod = {
  name: 'totp',
  paths: ['/mfa', '/mfa/enroll'],
  async handle(r) {
    const method = r.req.method ?? 'GET';
    const enrol = r.url.pathname === '/mfa/enroll';
    if (method === 'GET' || method === 'HEAD') await (enrol ? getEnroll(r) : getMfa(r));
    else if (method === 'POST') await (enrol ? postEnroll(r) : postMfa(r));
    else return false;
    return true;
  },
};

async function renderMfa(
  r: SigninRequest,
  central: CentralSession,
  stateText: string | null,
  status: number,
  error?: ErrorCode,
) {
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
      error: error
        ? {
            code: error,
            message:
              error === 'DB-SIGNIN-MFA-FAILED'
                ? 'That code is not right. Try the current code.'
                : catalogue[error].title,
          }
        : undefined,
      passkeyUrl: methods.webauthn ? `/passkey${q}` : null,
      recoveryLeft: methods.recoveryCodes,
    }),
    r.cookies,
  );
}

/** A posted second-factor form: its CSRF token checked and the session at `stage`, or null once answered. */
async function postedStage(r: SigninRequest, stage: 'mfa' | 'enroll') {
  const form = await readForm(r.req);
  if (!csrfValid(r.ctx, r.req, form.get('csrf'))) {
    sendError(r.req, r.res, 'DB-SIGNIN-CSRF', r.correlationId, undefined, r.cookies);
    return null;
  }
  const stateText = form.get('state');
  const central = await pendingStage(r, stage, stateText);
  return central ? { form, stateText, central } : null;
}

async function getMfa(r: SigninRequest) {
  const stateText = r.url.searchParams.get('state');
  const central = await pendingStage(r, 'mfa', stateText);
  if (central) await renderMfa(r, central, stateText, 200);
}

async function postMfa(r: SigninRequest) {
  const posted = await postedStage(r, 'mfa');
  if (!posted) return;
  const { ctx, req } = r;
  const { form, stateText, central } = posted;
  const { directory } = ctx.deps;
  const code = (form.get('code') ?? '').trim();
  const limited = await ctx.accountLimiter.hit(`mfa:${central.tenantId}:${central.userId}`);
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
      if (await directory.mfa.useRecoveryCode(central.tenantId, central.userId, hashRecoveryCode(code)))
        method = 'recovery';
    }
  }
  if (!method) {
    const errCode: ErrorCode = locked
      ? 'DB-SIGNIN-LOCKED-OUT'
      : limited.allowed
        ? 'DB-SIGNIN-MFA-FAILED'
        : 'DB-SIGNIN-RATE-LIMITED';
    central.mfaFailures++;
    const user = account;
    if (lock && !locked) await lock.fail();
    await writeLog(ctx, req, r.correlationId, {
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
      return sendError(
        req,
        r.res,
        'DB-SIGNIN-MFA-FAILED',
        r.correlationId,
        'Too many wrong codes: start signing in again.',
        [...r.cookies, clearCookie(CENTRAL_COOKIE)],
      );
    }
    await ctx.sessions.putCentral(central);
    return renderMfa(r, central, stateText, locked ? 403 : limited.allowed ? 401 : 429, errCode);
  }
  await completeSecondFactor(r, central, stateText, method);
}

async function renderEnroll(
  r: SigninRequest,
  central: CentralSession,
  stateText: string | null,
  status: number,
  error?: ErrorCode,
) {
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

async function getEnroll(r: SigninRequest) {
  const stateText = r.url.searchParams.get('state');
  const central = await pendingStage(r, 'enroll', stateText);
  if (central) await renderEnroll(r, central, stateText, 200);
}

async function postEnroll(r: SigninRequest) {
  const posted = await postedStage(r, 'enroll');
  if (!posted) return;
  const { ctx, req } = r;
  const { form, stateText, central } = posted;
  const { directory } = ctx.deps;
  const totp = await directory.mfa.getTotp(central.tenantId, central.userId);
  const limited = await ctx.accountLimiter.hit(`mfa:${central.tenantId}:${central.userId}`);
  const step =
    totp && !totp.confirmed && limited.allowed
      ? verifyTotp(totp.secret, form.get('code') ?? '', ctx.now(), null)
      : null;
  if (step === null) {
    await writeLog(ctx, req, r.correlationId, {
      tenantId: central.tenantId,
      event: 'mfa-enrol',
      userId: central.userId,
      result: 'failure',
      code: 'DB-SIGNIN-MFA-FAILED',
      mfaMethod: 'totp',
      authMethod: central.authMethods[0],
    });
    return renderEnroll(r, central, stateText, 401, 'DB-SIGNIN-MFA-FAILED');
  }
  await directory.mfa.confirmTotp(central.tenantId, central.userId, step);
  const codes = generateRecoveryCodes();
  await directory.mfa.setRecoveryCodes(central.tenantId, central.userId, codes.map(hashRecoveryCode));
  await ctx.sessions.deleteCentral(central.id);
  const upgraded: CentralSession = {
    ...central,
    id: newSecret(32),
    stage: 'done',
    authMethods: [...central.authMethods, 'totp'],
  };
  await ctx.sessions.putCentral(upgraded);
  await writeLog(ctx, req, r.correlationId, {
    tenantId: central.tenantId,
    event: 'mfa-enrol',
    userId: central.userId,
    result: 'success',
    mfaMethod: 'totp',
    authMethod: central.authMethods[0],
  });
  const q = stateText ? `?state=${encodeURIComponent(stateText)}` : '';
  sendHtml(r.res, 200, recoveryCodesPage({ codes, continueUrl: stateText ? `/authorize${q}` : '/' }), [
    ...r.cookies,
    centralCookie(ctx, upgraded),
  ]);
}
