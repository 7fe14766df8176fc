/**
 * Federation with a tenant's external OpenID Connect providers (several per tenant): authorization code + PKCE
 * (S256), state and nonce, with `openid-client`. Claims map to the user (created on first sign-in when allowed) and
 * their groups; the provider's `(issuer, sub)` is linked to the user so a renamed account stays the same user.
 *
 * Home realm discovery: on a tenant where providers own e-mail domains the sign-in page asks for the name first and
 * posts it to /oidc/discover, which sends a name in a provider's domain straight to that provider and any other to
 * the password form; the page also lists every provider's button (the chooser).
 */
import * as client from 'openid-client';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { sign, unsign } from '../../identity/keys.ts';
import type { OidcProvider, OidcSettings, User } from '../../store/directory-types.ts';
import { DEFAULT_PROVIDER_ID, loginDomain, providerForLogin } from '../../store/identity-providers.ts';
import { csrfValid } from './context.ts';
import { clearCookie, FLOW_COOKIE, parseCookies, serializeCookie } from './cookies.ts';
import { readForm, redirect, sendError } from './http.ts';
import type { SigninMethod } from './method.ts';
import { newSecret } from './sessions.ts';
import { putFlow, takeFlow } from './one-time.ts';
import { decodeState } from './state.ts';
import {
  finishFirstFactor,
  resolveTenant,
  showSigninPage,
  startCentralSession,
  stateApp,
  stateInvalid,
  writeLog,
  type SigninRequest,
} from './steps.ts';

const FLOW_TTL_SECONDS = 600;
const DISCOVERY_TTL_MS = 10 * 60 * 1000;

const discovered = new Map<string, { config: client.Configuration; at: number }>();

async function configFor(settings: OidcSettings): Promise<client.Configuration> {
  const key = `${settings.issuer}|${settings.clientId}|${settings.clientSecret ?? ''}`;
  const hit = discovered.get(key);
  if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.config;
  const insecure = settings.allowInsecureLoopback && new URL(settings.issuer).protocol === 'http:';
  const config = await client.discovery(
    new URL(settings.issuer),
    settings.clientId,
    settings.clientSecret ?? undefined,
    settings.clientSecret ? client.ClientSecretPost(settings.clientSecret) : client.None(),
    { execute: insecure ? [client.allowInsecureRequests] : [], timeout: 10 },
  );
  discovered.set(key, { config, at: Date.now() });
  return config;
}

export const oidcMethod: SigninMethod = {
  name: 'oidc',
  paths: ['/oidc/start', '/oidc/callback', '/oidc/discover'],
  async handle(r) {
    const method = r.req.method ?? 'GET';
    if (r.url.pathname === '/oidc/discover') {
      if (method !== 'POST') return false;
      await discoverHomeRealm(r);
      return true;
    }
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (r.url.pathname === '/oidc/start') await startOidc(r, r.url.searchParams.get('state'));
    else await handleOidcCallback(r);
    return true;
  },
  /** The chooser: one button per provider, in the tenant's order. */
  async alternative(ctx, tenantId, stateText) {
    const providers = await ctx.deps.directory.settings.providers(tenantId);
    return providers.map((p) => ({ label: p.buttonLabel, url: oidcStartUrl(stateText, tenantId, p.id) }));
  },
};

export function oidcStartUrl(
  stateText: string | null,
  tenantId: string,
  providerId?: string,
  loginHint?: string,
): string {
  const q = new URLSearchParams(stateText ? { state: stateText } : { tenant: tenantId });
  if (providerId) q.set('provider', providerId);
  if (loginHint) q.set('login_hint', loginHint);
  return `/oidc/start?${q}`;
}

/** The provider named by id; without one (an old link), `default` or else the first. */
async function providerFor(
  ctx: SigninRequest['ctx'],
  tenantId: string,
  id: string | null,
): Promise<OidcProvider | null> {
  const providers = await ctx.deps.directory.settings.providers(tenantId);
  if (id) return providers.find((p) => p.id === id) ?? null;
  return providers.find((p) => p.id === DEFAULT_PROVIDER_ID) ?? providers[0] ?? null;
}

/** POST /oidc/discover: the name typed first goes to the provider owning its domain, or to the password form. */
async function discoverHomeRealm(r: SigninRequest): Promise<void> {
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
  if (!csrfValid(ctx, req, form.get('csrf'))) {
    return showSigninPage(r, stateText, tenant, app, 403, {
      code: 'DB-SIGNIN-CSRF',
      message: 'The form expired. Please sign in again.',
    });
  }
  if (!username) return showSigninPage(r, stateText, tenant, app, 200);
  const provider = providerForLogin(await ctx.deps.directory.settings.providers(tenant.id), username);
  if (provider) return redirect(r.res, oidcStartUrl(stateText, tenant.id, provider.id, username), r.cookies);
  return showSigninPage(r, stateText, tenant, app, 200, undefined, username);
}

async function startOidc(r: SigninRequest, stateText: string | null): Promise<void> {
  const { ctx, req, res, correlationId } = r;
  const state = stateText ? decodeState(ctx.keys.key('state'), stateText, ctx.now()) : null;
  if (stateText && !state) return sendError(req, res, 'DB-SIGNIN-STATE-INVALID', correlationId);
  const url = new URL(req.url ?? '/', 'https://x.invalid');
  const tenant = await resolveTenant(ctx, state?.tenantId ?? url.searchParams.get('tenant'));
  if (!tenant) return sendError(req, res, 'DB-SIGNIN-TENANT-UNKNOWN', correlationId);
  const settings = await providerFor(ctx, tenant.id, url.searchParams.get('provider'));
  if (!settings) return sendError(req, res, 'DB-FED-NOT-CONFIGURED', correlationId);
  const loginHint = (url.searchParams.get('login_hint') ?? '').slice(0, 254);
  let config: client.Configuration;
  try {
    config = await configFor(settings);
  } catch (err) {
    ctx.deps.logger.warn({ err, correlationId, issuer: settings.issuer }, 'OIDC discovery failed');
    await writeLog(ctx, req, correlationId, {
      tenantId: tenant.id,
      event: 'federation',
      result: 'failure',
      code: 'DB-FED-PROVIDER-ERROR',
      authMethod: 'oidc',
      detail: { step: 'discovery', error: String((err as Error).message) },
    });
    return sendError(req, res, 'DB-FED-PROVIDER-ERROR', correlationId);
  }
  const codeVerifier = client.randomPKCECodeVerifier();
  const oidcState = client.randomState();
  const nonce = client.randomNonce();
  const flowId = newSecret(24);
  await putFlow(
    ctx.state,
    flowId,
    { kind: 'oidc', tenantId: tenant.id, providerId: settings.id, stateText, codeVerifier, oidcState, nonce },
    FLOW_TTL_SECONDS,
  );
  const target = client.buildAuthorizationUrl(config, {
    redirect_uri: `${ctx.loginOrigin}/oidc/callback`,
    scope: settings.scopes.join(' '),
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state: oidcState,
    nonce,
    ...(loginHint ? { login_hint: loginHint } : {}),
  });
  redirect(res, target.href, [
    serializeCookie(FLOW_COOKIE, sign(ctx.keys.key('cookie'), flowId), { maxAge: FLOW_TTL_SECONDS }),
  ]);
}

function claimString(claims: Record<string, unknown>, name: string): string | null {
  const v = claims[name];
  return typeof v === 'string' && v ? v : null;
}

async function handleOidcCallback(r: SigninRequest): Promise<void> {
  const { ctx, req, res, correlationId } = r;
  const raw = parseCookies(req.headers.cookie).get(FLOW_COOKIE);
  const flowId = raw ? unsign(ctx.keys.key('cookie'), raw) : null;
  const flow = flowId ? await takeFlow(ctx.state, flowId) : null;
  const clear = [clearCookie(FLOW_COOKIE)];
  if (!flow || flow.kind !== 'oidc')
    return sendError(
      req,
      res,
      'DB-SIGNIN-STATE-INVALID',
      correlationId,
      'The sign-in with your provider expired or was started in another browser.',
      clear,
    );
  const tenantId = flow.tenantId as string;
  const stateText = (flow.stateText as string | null) ?? null;
  const providers = await ctx.deps.directory.settings.providers(tenantId);
  // A flow begun before the list existed names no provider: it was the tenant's single one, now `default`.
  const settings = providers.find((p) => p.id === ((flow.providerId as string | undefined) ?? DEFAULT_PROVIDER_ID));
  if (!settings) return sendError(req, res, 'DB-FED-NOT-CONFIGURED', correlationId, undefined, clear);
  const fail = async (code: ErrorCode, step: string, err: unknown, username: string | null = null) => {
    ctx.deps.logger.warn({ err, correlationId, issuer: settings.issuer, step }, 'OIDC sign-in failed');
    await writeLog(ctx, req, correlationId, {
      tenantId,
      event: 'federation',
      username,
      result: 'failure',
      code,
      authMethod: 'oidc',
      detail: { step, provider: settings.id, issuer: settings.issuer, error: String((err as Error)?.message ?? err) },
    });
    sendError(req, res, code, correlationId, undefined, clear);
  };
  let claims: Record<string, unknown>;
  try {
    const config = await configFor(settings);
    const tokens = await client.authorizationCodeGrant(config, new URL(req.url ?? '/', ctx.loginOrigin), {
      pkceCodeVerifier: flow.codeVerifier as string,
      expectedState: flow.oidcState as string,
      expectedNonce: flow.nonce as string,
      idTokenExpected: true,
    });
    claims = { ...(tokens.claims() ?? {}) } as Record<string, unknown>;
    const needsUserinfo = !claimString(claims, settings.usernameClaim) || claims[settings.groupsClaim] === undefined;
    if (needsUserinfo && tokens.access_token && config.serverMetadata().userinfo_endpoint) {
      const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub as string);
      claims = { ...info, ...claims };
    }
  } catch (err) {
    return fail('DB-FED-PROVIDER-ERROR', 'token', err);
  }
  const subject = claimString(claims, 'sub');
  const fromClaim = claimString(claims, settings.usernameClaim);
  // An email stands in for the user name only when the provider vouches for it.
  const username = fromClaim ?? (claims.email_verified === true ? claimString(claims, 'email') : null);
  if (!subject || !username)
    return fail(
      'DB-FED-CLAIMS-INVALID',
      'claims',
      new Error(`missing ${settings.usernameClaim} (or a verified email) or sub`),
    );
  // A provider speaks only for names outside the domains another provider of the tenant owns.
  const domain = loginDomain(username);
  const owner = domain ? providers.find((p) => p.domains.includes(domain)) : undefined;
  if (owner && owner.id !== settings.id) {
    return fail(
      'DB-FED-ACCOUNT-NOT-LINKED',
      'link',
      new Error(`${username} is in ${domain}, which belongs to provider ${owner.id}, not ${settings.id}`),
      username,
    );
  }
  const { directory } = ctx.deps;
  let user: User | null = await directory.users.findByExternal(tenantId, settings.issuer, subject);
  try {
    if (!user) {
      user = await directory.users.findByLogin(tenantId, username);
      if (user && user.upn !== username.toLowerCase()) user = null;
      // Never take over an account by its name: a local or password-holding account is linked to an external
      // identity only by an administrator, since whoever controls the provider's claim would otherwise own it.
      if (user && (user.source !== 'oidc' || user.hasPassword)) {
        return fail(
          'DB-FED-ACCOUNT-NOT-LINKED',
          'link',
          new Error(
            `an account named ${user.upn} exists and is not linked to this provider; an administrator must link it`,
          ),
          username,
        );
      }
      // Nor an account another provider already signs in: one provider would otherwise take over the other's users.
      const other = user
        ? (await directory.users.externalLinks(tenantId, user.id)).find(
            (l) => l.issuer !== settings.issuer || (l.providerId !== null && l.providerId !== settings.id),
          )
        : undefined;
      if (user && other) {
        return fail(
          'DB-FED-ACCOUNT-NOT-LINKED',
          'link',
          new Error(`${user.upn} signs in through provider ${other.providerId ?? other.issuer}, not ${settings.id}`),
          username,
        );
      }
      if (!user) {
        if (!settings.autoCreateUsers)
          return fail(
            'DB-FED-CLAIMS-INVALID',
            'provision',
            new Error('user unknown and autoCreateUsers is off'),
            username,
          );
        user = await directory.users.create(tenantId, {
          upn: username,
          displayName: claimString(claims, 'name') ?? username,
          email: claimString(claims, 'email'),
          source: 'oidc',
        });
      }
      await directory.users.linkExternal(tenantId, user.id, settings.issuer, subject, settings.id);
    } else {
      user = await directory.users.update(tenantId, user.id, {
        displayName: claimString(claims, 'name') ?? user.displayName,
        email: claimString(claims, 'email') ?? user.email,
      });
    }
    const groups = claims[settings.groupsClaim];
    if (Array.isArray(groups)) {
      const names = groups
        .filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= 256)
        .slice(0, 200);
      await directory.groups.syncExternal(
        tenantId,
        user.id,
        names.map((g) => ({ externalId: g, name: g })),
      );
    }
  } catch (err) {
    return fail('DB-FED-CLAIMS-INVALID', 'provision', err, username);
  }
  if (!user.enabled) {
    await writeLog(ctx, req, correlationId, {
      tenantId,
      event: 'signin',
      userId: user.id,
      username: user.upn,
      result: 'denied',
      code: 'DB-ACCESS-ACCOUNT-DISABLED',
      authMethod: 'oidc',
    });
    return sendError(req, res, 'DB-ACCESS-ACCOUNT-DISABLED', correlationId, undefined, clear);
  }
  await ctx.lockout.signedIn(tenantId, user.id);
  const central = await startCentralSession(ctx, req, tenantId, user.id, ['oidc'], false);
  r.cookies.push(clearCookie(FLOW_COOKIE));
  await finishFirstFactor(r, central, stateText);
}
