/**
 * Channel tokens (issue 13): what the command line's sign-in (cli-login.ts, cli-device.ts) hands the CLI for a TCP
 * app, bound to the user and the app, HMAC-signed with the edge's identity keys; tcp-access.ts reads them.
 */
import type { App } from '../../store/types.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import { sign, unsign } from '../../identity/keys.ts';
import type { Ctx } from './context.ts';

/** How long a channel token opens new channels (open ones stay until access evaluation ends them). */
export const CHANNEL_TOKEN_TTL_SECONDS = 12 * 3600;
export const CHANNEL_TOKEN_PREFIX = 'dbu.';

export interface ChannelTokenClaims {
  /** user, tenant, app, expiry (epoch seconds), issued at (ms), the sign-in's methods. */
  u: string;
  t: string;
  a: string;
  exp: number;
  iat: number;
  m: string[];
}

export function mintChannelToken(ctx: Ctx, identity: Identity, app: App): string {
  const now = ctx.now();
  const claims: ChannelTokenClaims = {
    u: identity.userId,
    t: app.tenantId,
    a: app.id,
    exp: Math.floor(now / 1000) + CHANNEL_TOKEN_TTL_SECONDS,
    iat: now,
    m: identity.authMethods,
  };
  return (
    CHANNEL_TOKEN_PREFIX + sign(ctx.keys.key('channel'), Buffer.from(JSON.stringify(claims)).toString('base64url'))
  );
}

/** The claims of a valid, unexpired channel token for this app; null for anything else. */
export function readChannelToken(ctx: Ctx, token: string, app: App): ChannelTokenClaims | null {
  if (!token.startsWith(CHANNEL_TOKEN_PREFIX)) return null;
  const value = unsign(ctx.keys.key('channel'), token.slice(CHANNEL_TOKEN_PREFIX.length));
  if (value === null) return null;
  try {
    const claims = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as ChannelTokenClaims;
    if (claims.t !== app.tenantId || claims.a !== app.id || !(claims.exp * 1000 > ctx.now())) return null;
    return claims;
  } catch {
    return null;
  }
}
