/**
 * Gateway authorisation for apps of kind `rdp`: a short-lived Drawbridge gateway access token, minted on the app's
 * host after the usual sign-in (MFA, conditional access: the request that mints it went through them), bound to the
 * user, the app and the app session it was minted from. Native clients present it as the PAA cookie of the tunnel
 * create packet (mstsc's `gatewayaccesstoken`, FreeRDP's `/gat:`).
 *
 * The token is sealed (AES-256-GCM with the store's key ring, so every edge node opens it; nothing in it is readable
 * by the client), expires after `ttlSeconds`, and is only as good as its app session: signing out, revocation or a
 * disabled account end the session and with it every token minted from it. An open channel is registered with
 * continuous access evaluation like a WebSocket, so those changes close it too.
 */
import type { IncomingMessage } from 'node:http';
import { open, seal, type KeyRing } from '../../identity/keys.ts';
import type { App } from '../../store/types.ts';
import type { DirectoryStore } from '../../store/directory-types.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import { decideAccess } from '../access/decide.ts';
import type { ContinuousAccess, Closable } from '../cae/continuous-access.ts';
import { isAlive, recordKey, type AppSession, type SessionStore } from '../signin/sessions.ts';

export const TOKEN_PREFIX = 'dbgw1.';
const AAD = 'drawbridge-rd-gateway-token';
/** Long enough to open the downloaded .rdp file; the channel itself then lives as long as access does. */
export const DEFAULT_TOKEN_TTL_SECONDS = 300;

interface TokenBody {
  /** App session id. */
  s: string;
  t: string;
  u: string;
  a: string;
  /** Expiry, ms since epoch. */
  e: number;
}

export interface GatewayGrant {
  session: AppSession;
  identity: Identity;
}

export type GatewayVerdict =
  | { ok: true; grant: GatewayGrant }
  | { ok: false; code: ErrorCode; reason: string; userId?: string };

export interface GatewayAccess {
  /** A token for the request's signed-in app session (the request passed pre-authentication), or null. */
  mint(req: IncomingMessage, app: App): { token: string; expiresAt: number } | null;
  /** Checks a token presented at `app`'s gateway, against the live session and the directory. */
  authorise(token: string | null, app: App): Promise<GatewayVerdict>;
  /** Registers an open channel with continuous access evaluation: `end` closes it when access is withdrawn. */
  track(grant: GatewayGrant, closed: Closable, end: (code: ErrorCode, reason: string) => void): void;
}

export interface GatewayAccessDeps {
  keys: KeyRing;
  sessions: SessionStore;
  directory: DirectoryStore;
  cae: ContinuousAccess;
  now?: () => number;
  ttlSeconds?: number;
}

export function sealToken(keys: KeyRing, body: TokenBody): string {
  return TOKEN_PREFIX + seal(keys.key('state'), JSON.stringify(body), AAD);
}

function openToken(keys: KeyRing, token: string): TokenBody | null {
  if (!token.startsWith(TOKEN_PREFIX) || token.length > 4096) return null;
  try {
    const body = JSON.parse(open(keys.key('state'), token.slice(TOKEN_PREFIX.length), AAD)) as TokenBody;
    return typeof body.s === 'string' && typeof body.e === 'number' ? body : null;
  } catch {
    return null;
  }
}

export function createGatewayAccess(deps: GatewayAccessDeps): GatewayAccess {
  const now = deps.now ?? Date.now;
  const ttlMs = (deps.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS) * 1000;
  const deny = (code: ErrorCode, reason: string, userId?: string): GatewayVerdict => ({
    ok: false,
    code,
    reason,
    userId,
  });

  return {
    mint(req, app) {
      const session = deps.cae.sessionOf(req);
      if (!session || session.appId !== app.id || session.tenantId !== app.tenantId) return null;
      const expiresAt = now() + ttlMs;
      return {
        token: sealToken(deps.keys, { s: session.id, t: session.tenantId, u: session.userId, a: app.id, e: expiresAt }),
        expiresAt,
      };
    },
    async authorise(token, app) {
      if (!token) return deny('DB-RDG-TOKEN-INVALID', 'no gateway access token');
      const body = openToken(deps.keys, token.trim());
      if (!body) return deny('DB-RDG-TOKEN-INVALID', "the gateway access token does not open with this edge's keys");
      if (body.e <= now())
        return deny(
          'DB-RDG-TOKEN-EXPIRED',
          `the gateway access token expired at ${new Date(body.e).toISOString()}`,
          body.u,
        );
      if (body.a !== app.id || body.t !== app.tenantId)
        return deny('DB-RDG-TOKEN-INVALID', `the token is for app ${body.a}, not ${app.id}`, body.u);
      const session = await deps.sessions.getApp(body.s);
      if (!session || session.userId !== body.u || session.appId !== app.id)
        return deny('DB-SESSION-EXPIRED', 'the sign-in the token came from has ended', body.u);
      const central = await deps.sessions.getCentral(session.centralId);
      if (!central || central.stage !== 'done' || !isAlive(central, now()))
        return deny('DB-SESSION-EXPIRED', 'the sign-in the token came from has ended', body.u);
      // Access now, not at sign-in: disabled, unassigned or unlicensed since is refused here.
      const facts = await deps.directory.access.facts(session.tenantId, session.userId);
      const decision = decideAccess(
        facts,
        app.id,
        facts ? await deps.directory.assignments.appsForUser(session.tenantId, session.userId) : [],
      );
      if (!decision.allow) return deny(decision.code, decision.detail, body.u);
      return { ok: true, grant: { session, identity: session.identity } };
    },
    track(grant, closed, end) {
      deps.cae.live.add(
        {
          kind: 'stream',
          session: grant.session,
          centralKey: recordKey(grant.session.centralId),
          facts: { appId: grant.session.appId, clientIp: null, userAgent: null, at: now() },
          end,
        },
        closed,
      );
    },
  };
}
