/**
 * Passkeys (WebAuthn) on the sign-in host, with `@simplewebauthn/server`. The relying party id is the edge domain
 * (the sign-in host's parent), the expected origin is the sign-in host's origin, and user verification is required,
 * so a passkey alone counts as two factors. Three flows share one page and one small inline script:
 *
 *   GET/POST /passkey            second step after a password (or federation) for a user with a passkey
 *   GET/POST /passkey/register   add a passkey: signed-in users, or users who must enrol MFA
 *   GET/POST /passkey/signin     passwordless: a discoverable passkey identifies and verifies the user
 *
 * The options (with the challenge) are rendered into the page; the challenge is kept server-side in a flow record
 * named by a host-only cookie and can be answered once. The script turns the browser's credential into JSON and
 * posts it with the page's CSRF token, so the server answers with an ordinary redirect.
 */
import type { IncomingMessage } from 'node:http';
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { sign, unsign } from '../../identity/keys.ts';
import { generateRecoveryCodes, hashRecoveryCode } from '../../identity/recovery-codes.ts';
import { centralCookie, csrfValid, currentCentral, type Ctx } from './context.ts';
import { CENTRAL_COOKIE, clearCookie, FLOW_COOKIE, parseCookies, serializeCookie } from './cookies.ts';
import { clientIp, readForm, redirect, sendError, sendHtml } from './http.ts';
import type { SigninMethod } from './method.ts';
import { passkeyAddedPage, passkeyPage, recoveryCodesPage } from './pages.ts';
import { PASSKEY_SCRIPT_HASH } from './passkey-script.ts';
import { newSecret, type CentralSession } from './sessions.ts';
import { putFlow as putFlowRecord, takeFlow as takeFlowRecord } from './one-time.ts';
import { decodeState } from './state.ts';
import {
  completeSecondFactor,
  hiddenFor,
  resolveTenant,
  signedInWithBothFactors,
  writeLog,
  type SigninRequest,
} from './steps.ts';

const FLOW_TTL_SECONDS = 300;
const MAX_FAILURES = 5;
/** Credential JSON from the browser is small (attestation "none"); anything bigger is refused. */
const MAX_CREDENTIAL_CHARS = 8 * 1024;

type Mode = 'verify' | 'register' | 'signin';

interface Flow {
  kind: `webauthn-${Mode}`;
  challenge: string;
  tenantId: string;
  /** verify/register: the central session the ceremony belongs to. */
  centralId?: string;
}

export const passkeyMethod: SigninMethod = {
  name: 'webauthn',
  paths: ['/passkey*'],
  async handle(r) {
    await handlePasskey(r.ctx, r, r.url);
    return true;
  },
  async alternative(_ctx, _tenantId, stateText) {
    return {
      label: 'Sign in with a passkey',
      url: stateText ? `/passkey/signin?state=${encodeURIComponent(stateText)}` : '/passkey/signin',
    };
  },
};

async function handlePasskey(ctx: Ctx, host: SigninRequest, url: URL): Promise<void> {
  const { req } = host;
  const mode: Mode | null =
    url.pathname === '/passkey'
      ? 'verify'
      : url.pathname === '/passkey/register'
        ? 'register'
        : url.pathname === '/passkey/signin'
          ? 'signin'
          : null;
  const method = req.method ?? 'GET';
  if (!mode || (method !== 'GET' && method !== 'POST')) {
    return sendError(
      req,
      host.res,
      'DB-HTTP-BAD-REQUEST',
      host.correlationId,
      'There is no sign-in page at this address.',
      host.cookies,
    );
  }
  if (method === 'GET') return showPage(ctx, host, mode, url.searchParams.get('state'));
  const form = await readForm(req);
  const stateText = form.get('state') || null;
  if (!csrfValid(ctx, req, form.get('csrf')))
    return sendError(req, host.res, 'DB-SIGNIN-CSRF', host.correlationId, undefined, host.cookies);
  const flow = await takeFlow(ctx, req, mode);
  const text = form.get('credential') ?? '';
  if (mode === 'register') return finishRegistration(ctx, host, stateText, flow, text, form.get('name'));
  if (mode === 'verify') return finishVerify(ctx, host, stateText, flow, text);
  return finishSignin(ctx, host, stateText, flow, text);
}

function rpId(ctx: Ctx): string {
  return ctx.deps.domain.toLowerCase();
}

async function takeFlow(ctx: Ctx, req: IncomingMessage, mode: Mode): Promise<Flow | null> {
  const raw = parseCookies(req.headers.cookie).get(FLOW_COOKIE);
  const id = raw ? unsign(ctx.keys.key('cookie'), raw) : null;
  const flow = id ? ((await takeFlowRecord(ctx.state, id)) as Flow | null) : null;
  return flow && flow.kind === `webauthn-${mode}` ? flow : null;
}

async function putFlow(ctx: Ctx, flow: Flow): Promise<string> {
  const id = newSecret(24);
  await putFlowRecord(ctx.state, id, { ...flow }, FLOW_TTL_SECONDS);
  return serializeCookie(FLOW_COOKIE, sign(ctx.keys.key('cookie'), id), { maxAge: FLOW_TTL_SECONDS });
}

/** The central session a verify/register page belongs to, or null after answering with where to go instead. */
async function sessionFor(
  ctx: Ctx,
  host: SigninRequest,
  mode: 'verify' | 'register',
  stateText: string | null,
): Promise<CentralSession | null> {
  const central = await currentCentral(ctx, host.req);
  const ok =
    central && (mode === 'verify' ? central.stage === 'mfa' : central.stage === 'done' || central.stage === 'enroll');
  if (ok) return central;
  const q = stateText ? `?state=${encodeURIComponent(stateText)}` : '';
  if (central?.stage === 'done') redirect(host.res, stateText ? `/authorize${q}` : '/', host.cookies, 303);
  else if (central) redirect(host.res, `${central.stage === 'mfa' ? '/mfa' : '/mfa/enroll'}${q}`, host.cookies, 303);
  else if (stateText) redirect(host.res, `/authorize${q}`, host.cookies, 303);
  else sendError(host.req, host.res, 'DB-SESSION-EXPIRED', host.correlationId, undefined, host.cookies);
  return null;
}

async function showPage(
  ctx: Ctx,
  host: SigninRequest,
  mode: Mode,
  stateText: string | null,
  status = 200,
  error?: { code: ErrorCode; message: string },
): Promise<void> {
  const { directory } = ctx.deps;
  const q = stateText ? `?state=${encodeURIComponent(stateText)}` : '';
  if (stateText && !decodeState(ctx.keys.key('state'), stateText, ctx.now())) {
    return sendError(host.req, host.res, 'DB-SIGNIN-STATE-INVALID', host.correlationId, undefined, host.cookies);
  }
  let tenantId: string;
  let upn: string | null = null;
  let options: object;
  let centralId: string | undefined;
  let fallback: { url: string; label: string } | null;
  if (mode === 'signin') {
    const state = stateText ? decodeState(ctx.keys.key('state'), stateText, ctx.now()) : null;
    const tenant = await resolveTenant(ctx, state?.tenantId ?? null);
    if (!tenant)
      return sendError(host.req, host.res, 'DB-SIGNIN-TENANT-UNKNOWN', host.correlationId, undefined, host.cookies);
    tenantId = tenant.id;
    options = await generateAuthenticationOptions({ rpID: rpId(ctx), userVerification: 'required', timeout: 120_000 });
    fallback = { url: stateText ? `/authorize${q}` : '/?signin=1', label: 'Sign in with a password instead' };
  } else {
    const central = await sessionFor(ctx, host, mode, stateText);
    if (!central) return;
    tenantId = central.tenantId;
    centralId = central.id;
    const user = await directory.users.get(central.tenantId, central.userId);
    if (!user) return sendError(host.req, host.res, 'DB-SESSION-EXPIRED', host.correlationId, undefined, host.cookies);
    upn = user.upn;
    const credentials = await directory.mfa.webauthnList(central.tenantId, central.userId);
    const descriptors = credentials.map((c) => ({ id: c.credentialId, transports: c.transports }));
    if (mode === 'verify') {
      const methods = await directory.mfa.methods(central.tenantId, central.userId);
      options = await generateAuthenticationOptions({
        rpID: rpId(ctx),
        allowCredentials: descriptors,
        userVerification: 'required',
        timeout: 120_000,
      });
      fallback =
        methods.totp || methods.recoveryCodes > 0
          ? { url: `/mfa${q}`, label: 'Use a verification code instead' }
          : null;
    } else {
      const tenant = await ctx.deps.store.tenants.get(central.tenantId);
      options = await generateRegistrationOptions({
        rpName: `Drawbridge · ${tenant?.displayName ?? 'sign-in'}`,
        rpID: rpId(ctx),
        userName: user.upn,
        userDisplayName: user.displayName || user.upn,
        userID: new TextEncoder().encode(user.id),
        attestationType: 'none',
        excludeCredentials: descriptors,
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        timeout: 120_000,
      });
      fallback =
        central.stage === 'enroll'
          ? { url: `/mfa/enroll${q}`, label: 'Use an authenticator app instead' }
          : { url: stateText ? `/authorize${q}` : '/', label: 'Not now' };
    }
  }
  const flowCookie = await putFlow(ctx, {
    kind: `webauthn-${mode}`,
    challenge: (options as { challenge: string }).challenge,
    tenantId,
    centralId,
  });
  sendHtml(
    host.res,
    status,
    passkeyPage({
      mode,
      hidden: hiddenFor(host, stateText),
      upn,
      optionsJson: JSON.stringify(options),
      fallback,
      error,
    }),
    [...host.cookies, flowCookie],
    PASSKEY_SCRIPT_HASH,
  );
}

function parseCredential<T>(text: string): T | null {
  if (!text || text.length > MAX_CREDENTIAL_CHARS) return null;
  try {
    const value = JSON.parse(text) as { id?: unknown; response?: unknown };
    return typeof value.id === 'string' && typeof value.response === 'object' && value.response !== null
      ? (value as T)
      : null;
  } catch {
    return null;
  }
}

const FAILED = {
  code: 'DB-SIGNIN-PASSKEY-FAILED' as const,
  message: 'The passkey could not be verified. Try again, or use another way to sign in.',
};

async function finishRegistration(
  ctx: Ctx,
  host: SigninRequest,
  stateText: string | null,
  flow: Flow | null,
  text: string,
  name: string | null,
): Promise<void> {
  const central = await sessionFor(ctx, host, 'register', stateText);
  if (!central) return;
  const { directory } = ctx.deps;
  const response = parseCredential<RegistrationResponseJSON>(text);
  let failure: string | null = null;
  let info: Awaited<ReturnType<typeof verifyRegistrationResponse>>['registrationInfo'];
  if (!flow || flow.centralId !== central.id) failure = 'challenge missing or expired';
  else if (!response) failure = 'no credential (JavaScript disabled?)';
  else {
    try {
      const verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: flow.challenge,
        expectedOrigin: ctx.loginOrigin,
        expectedRPID: rpId(ctx),
        requireUserVerification: true,
      });
      if (verified.verified) info = verified.registrationInfo;
      else failure = 'attestation did not verify';
    } catch (err) {
      failure = (err as Error).message;
    }
  }
  const upn = (await directory.users.get(central.tenantId, central.userId))?.upn ?? null;
  const base = {
    tenantId: central.tenantId,
    event: 'mfa-enrol',
    userId: central.userId,
    username: upn,
    authMethod: central.authMethods[0],
    mfaMethod: 'webauthn',
  } as const;
  if (failure || !info) {
    await writeLog(ctx, host.req, host.correlationId, {
      ...base,
      result: 'failure',
      code: FAILED.code,
      detail: { step: 'register', reason: failure },
    });
    return showPage(ctx, host, 'register', stateText, 400, FAILED);
  }
  const label = (name ?? '').trim().slice(0, 64) || 'Passkey';
  await directory.mfa.webauthnAdd(central.tenantId, central.userId, {
    credentialId: info.credential.id,
    publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
    counter: info.credential.counter,
    transports: info.credential.transports ?? response?.response.transports ?? [],
    name: label,
  });
  await writeLog(ctx, host.req, host.correlationId, {
    ...base,
    result: 'success',
    detail: { name: label, deviceType: info.credentialDeviceType, backedUp: info.credentialBackedUp },
  });
  const q = stateText ? `?state=${encodeURIComponent(stateText)}` : '';
  const cookies = [...host.cookies, clearCookie(FLOW_COOKIE)];
  if (central.stage === 'enroll') {
    // Enrolment required by the tenant: this passkey is the second factor of this sign-in; give recovery codes too.
    await ctx.sessions.deleteCentral(central.id);
    const upgraded: CentralSession = {
      ...central,
      id: newSecret(32),
      stage: 'done',
      authMethods: [...central.authMethods, 'webauthn'],
      mfaFailures: 0,
    };
    await ctx.sessions.putCentral(upgraded);
    const methods = await directory.mfa.methods(central.tenantId, central.userId);
    const continueUrl = stateText ? `/authorize${q}` : '/';
    if (methods.recoveryCodes > 0)
      return redirect(host.res, continueUrl, [...cookies, centralCookie(ctx, upgraded)], 303);
    const codes = generateRecoveryCodes();
    await directory.mfa.setRecoveryCodes(central.tenantId, central.userId, codes.map(hashRecoveryCode));
    return sendHtml(host.res, 200, recoveryCodesPage({ codes, continueUrl }), [
      ...cookies,
      centralCookie(ctx, upgraded),
    ]);
  }
  sendHtml(host.res, 200, passkeyAddedPage({ name: label, continueUrl: stateText ? `/authorize${q}` : '/' }), cookies);
}

async function verifyAssertion(
  ctx: Ctx,
  flow: Flow,
  response: AuthenticationResponseJSON,
  userId: string | null,
): Promise<{ userId: string } | { failure: string; userId?: string }> {
  const { directory } = ctx.deps;
  const stored = await directory.mfa.webauthnFind(flow.tenantId, response.id);
  if (!stored) return { failure: 'unknown credential' };
  if (userId && stored.userId !== userId) return { failure: 'credential of another user', userId };
  if (
    response.response.userHandle &&
    Buffer.from(response.response.userHandle, 'base64url').toString('utf8') !== stored.userId
  ) {
    return { failure: 'user handle does not match the credential', userId: stored.userId };
  }
  try {
    const verified = await verifyAuthenticationResponse({
      response,
      expectedChallenge: flow.challenge,
      expectedOrigin: ctx.loginOrigin,
      expectedRPID: rpId(ctx),
      requireUserVerification: true,
      credential: {
        id: stored.credentialId,
        publicKey: new Uint8Array(Buffer.from(stored.publicKey, 'base64url')),
        counter: stored.counter,
        transports: stored.transports as never,
      },
    });
    if (!verified.verified) return { failure: 'assertion did not verify', userId: stored.userId };
    // The library refuses a counter that did not grow (a cloned authenticator); store the new one.
    await directory.mfa.webauthnUse(flow.tenantId, stored.credentialId, verified.authenticationInfo.newCounter);
    return { userId: stored.userId };
  } catch (err) {
    return { failure: (err as Error).message, userId: stored.userId };
  }
}

async function finishVerify(
  ctx: Ctx,
  host: SigninRequest,
  stateText: string | null,
  flow: Flow | null,
  text: string,
): Promise<void> {
  const central = await sessionFor(ctx, host, 'verify', stateText);
  if (!central) return;
  const { directory } = ctx.deps;
  const response = parseCredential<AuthenticationResponseJSON>(text);
  const limited = await ctx.accountLimiter.hit(`mfa:${central.tenantId}:${central.userId}`);
  const account = await directory.users.get(central.tenantId, central.userId);
  const lock = account ? await ctx.lockout.bucket(central.tenantId, account.upn, account, clientIp(host.req)) : null;
  const locked = lock !== null && lock.remaining() > 0;
  let failure: string;
  if (locked) failure = 'account locked';
  else if (!limited.allowed) failure = 'rate limited';
  else if (!flow || flow.centralId !== central.id) failure = 'challenge missing or expired';
  else if (!response) failure = 'no credential (JavaScript disabled?)';
  else {
    const result = await verifyAssertion(ctx, flow, response, central.userId);
    if ('failure' in result) failure = result.failure;
    else return completeSecondFactor(host, central, stateText, 'webauthn');
  }
  central.mfaFailures++;
  const user = account;
  if (lock && !locked) await lock.fail();
  const code: ErrorCode = locked ? 'DB-SIGNIN-LOCKED-OUT' : limited.allowed ? FAILED.code : 'DB-SIGNIN-RATE-LIMITED';
  await writeLog(ctx, host.req, host.correlationId, {
    tenantId: central.tenantId,
    event: 'mfa',
    userId: central.userId,
    username: user?.upn ?? null,
    result: 'failure',
    code,
    authMethod: central.authMethods[0],
    mfaMethod: 'webauthn',
    detail: { reason: failure, failures: central.mfaFailures },
  });
  if (central.mfaFailures >= MAX_FAILURES) {
    await ctx.sessions.deleteCentral(central.id);
    return sendError(
      host.req,
      host.res,
      code,
      host.correlationId,
      'Too many failed attempts: start signing in again.',
      [...host.cookies, clearCookie(CENTRAL_COOKIE)],
    );
  }
  await ctx.sessions.putCentral(central);
  return showPage(
    ctx,
    host,
    'verify',
    stateText,
    limited.allowed ? 401 : 429,
    limited.allowed ? FAILED : { code, message: 'Too many attempts. Wait a minute and try again.' },
  );
}

async function finishSignin(
  ctx: Ctx,
  host: SigninRequest,
  stateText: string | null,
  flow: Flow | null,
  text: string,
): Promise<void> {
  const { directory } = ctx.deps;
  const state = stateText ? decodeState(ctx.keys.key('state'), stateText, ctx.now()) : null;
  if (stateText && !state)
    return sendError(host.req, host.res, 'DB-SIGNIN-STATE-INVALID', host.correlationId, undefined, host.cookies);
  const tenant = await resolveTenant(ctx, state?.tenantId ?? null);
  if (!tenant)
    return sendError(host.req, host.res, 'DB-SIGNIN-TENANT-UNKNOWN', host.correlationId, undefined, host.cookies);
  const response = parseCredential<AuthenticationResponseJSON>(text);
  const byIp = await ctx.ipLimiter.hit(clientIp(host.req) ?? 'unknown');
  let failure: string;
  let userId: string | undefined;
  if (!byIp.allowed) failure = 'rate limited';
  else if (!flow || flow.tenantId !== tenant.id) failure = 'challenge missing or expired';
  else if (!response) failure = 'no credential (JavaScript disabled?)';
  else {
    const result = await verifyAssertion(ctx, flow, response, null);
    userId = result.userId;
    if (!('failure' in result)) {
      const user = await directory.users.get(tenant.id, result.userId);
      const base = {
        tenantId: tenant.id,
        event: 'signin',
        userId: result.userId,
        username: user?.upn ?? null,
        appId: state?.appId ?? null,
        authMethod: 'webauthn',
        mfaMethod: 'webauthn',
      } as const;
      if (!user || !user.enabled) {
        await writeLog(ctx, host.req, host.correlationId, {
          ...base,
          result: 'denied',
          code: 'DB-ACCESS-ACCOUNT-DISABLED',
        });
        return sendError(host.req, host.res, 'DB-ACCESS-ACCOUNT-DISABLED', host.correlationId, undefined, host.cookies);
      }
      const lock = await ctx.lockout.bucket(tenant.id, user.upn, user, clientIp(host.req));
      if (lock.remaining() > 0) {
        await writeLog(ctx, host.req, host.correlationId, { ...base, result: 'failure', code: 'DB-SIGNIN-LOCKED-OUT' });
        return showPage(ctx, host, 'signin', stateText, 403, {
          code: 'DB-SIGNIN-LOCKED-OUT',
          message: 'This account is locked for a while after too many failed attempts.',
        });
      }
      return signedInWithBothFactors(host, tenant.id, user.id, stateText, 'webauthn');
    }
    failure = result.failure;
  }
  const user = userId ? await directory.users.get(tenant.id, userId) : null;
  const code: ErrorCode = byIp.allowed ? FAILED.code : 'DB-SIGNIN-RATE-LIMITED';
  await writeLog(ctx, host.req, host.correlationId, {
    tenantId: tenant.id,
    event: 'signin',
    userId: user?.id ?? null,
    username: user?.upn ?? null,
    appId: state?.appId ?? null,
    result: 'failure',
    code,
    authMethod: 'webauthn',
    detail: { reason: failure },
  });
  return showPage(
    ctx,
    host,
    'signin',
    stateText,
    byIp.allowed ? 401 : 429,
    byIp.allowed ? FAILED : { code, message: 'Too many attempts. Wait a minute and try again.' },
  );
}
