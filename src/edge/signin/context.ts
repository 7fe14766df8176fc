/** What every sign-in handler shares: dependencies, keys, sessions, limits, lockout and CSRF. */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { safeEqual, sign, unsign, type KeyRing } from '../../identity/keys.ts';
import { createHmac } from 'node:crypto';
import type { RateLimiter } from '../../identity/rate-limit.ts';
import type { EphemeralState } from '../../identity/ephemeral-state.ts';
import type { LockoutBook } from './lockout.ts';
import type { ConditionalAccess } from './conditional-access.ts';
import type { SigninAlternative } from './pages.ts';
import type { DirectoryStore } from '../../store/directory-types.ts';
import type { App, Store } from '../../store/types.ts';
import { BROWSER_COOKIE, CENTRAL_COOKIE, parseCookies, serializeCookie } from './cookies.ts';
import { newSecret, type CentralSession, type SessionStore } from './sessions.ts';
import { keyObject } from '../../lib/key-object.ts';
import type { ContinuousAccess, SessionCheck } from '../cae/continuous-access.ts';

export interface SigninDeps {
  store: Store;
  directory: DirectoryStore;
  /** e.g. `apps.localhost`: the sign-in host is `login.<domain>`. */
  domain: string;
  /** Appended to URLs unless 443. A function when the port is known only once the edge listens. */
  publicPort: number | (() => number);
  stateDir: string;
  logger: Logger;
  /** Counts each sign-in log event by event and result (the edge's metrics, edge/metrics.ts). */
  countSignin?(event: string, result: string): void;
}

export interface SigninOptions {
  /** Replace the in-memory session store (Redis in a cluster). */
  sessions?: SessionStore;
  /** Replace the in-memory ephemeral state: codes, flows, rate limits, lockout counts (Redis in a cluster). */
  state?: EphemeralState;
  now?: () => number;
  /** Sign-in attempts per client IP per minute (default 30). */
  ipLimitPerMinute?: number;
  /** Sign-in attempts per account per minute (default 10). */
  accountLimitPerMinute?: number;
  /** Re-evaluate an app session's access decision after this many seconds (default 300). */
  recheckSeconds?: number;
  /** Checks (policies) run on every request of a pre-authenticated app and on every re-evaluation (edge/cae/). */
  sessionChecks?: SessionCheck[];
}

export interface Ctx {
  deps: SigninDeps;
  keys: KeyRing;
  sessions: SessionStore;
  /** One-time codes and flow records (one-time.ts), rate-limit windows, lockout counts: shared in a cluster. */
  state: EphemeralState;
  loginHost: string;
  /** `https://login.<domain>[:port]` (a getter: the port may be known only after listen). */
  readonly loginOrigin: string;
  /** `https://admin.<domain>[:port]`: the admin console, which signs in through this host (console-access.ts). */
  readonly consoleOrigin: string;
  ipLimiter: RateLimiter;
  accountLimiter: RateLimiter;
  /** Failed sign-ins and locks (smart lockout). */
  lockout: LockoutBook;
  /** The ways into sign-in the page offers beside the password form (from the method registry). */
  signinAlternatives(tenantId: string, stateText: string | null): Promise<SigninAlternative[]>;
  recheckMs: number;
  /** Continuous access evaluation: change marks, the checks, this node's live connections. */
  cae: ContinuousAccess;
  /** Conditional access policies, evaluated at sign-in and on every app request from cached facts. */
  access: ConditionalAccess;
  now: () => number;
}

export function appOrigin(app: App): string {
  return new URL(app.externalUrl).origin;
}

/** The signed browser id behind CSRF tokens; created (with its cookie) on first sight. */
export function browserBinding(ctx: Ctx, req: IncomingMessage): { id: string; cookie: string | null } {
  const raw = parseCookies(req.headers.cookie).get(BROWSER_COOKIE);
  const id = raw ? unsign(ctx.keys.key('cookie'), raw) : null;
  if (id) return { id, cookie: null };
  const fresh = newSecret(18);
  return { id: fresh, cookie: serializeCookie(BROWSER_COOKIE, sign(ctx.keys.key('cookie'), fresh)) };
}

export function csrfToken(ctx: Ctx, browserId: string): string {
  return createHmac('sha256', keyObject(ctx.keys.key('csrf')))
    .update(browserId)
    .digest('base64url');
}

/** Token bound to the browser cookie, and (defence in depth) no cross-site Origin / Sec-Fetch-Site. */
export function csrfValid(ctx: Ctx, req: IncomingMessage, token: string | null): boolean {
  // `Origin: null` is what privacy settings and no-referrer pages send; the token below is the real check.
  const origin = req.headers.origin;
  if (origin && origin !== 'null' && origin !== ctx.loginOrigin) return false;
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  const raw = parseCookies(req.headers.cookie).get(BROWSER_COOKIE);
  const id = raw ? unsign(ctx.keys.key('cookie'), raw) : null;
  if (!id || !token) return false;
  return safeEqual(token, csrfToken(ctx, id));
}

export async function currentCentral(ctx: Ctx, req: IncomingMessage): Promise<CentralSession | null> {
  const raw = parseCookies(req.headers.cookie).get(CENTRAL_COOKIE);
  const id = raw ? unsign(ctx.keys.key('cookie'), raw) : null;
  return id ? ctx.sessions.getCentral(id) : null;
}

export function centralCookie(ctx: Ctx, session: CentralSession): string {
  const remaining = Math.floor((session.createdAt + session.absoluteSeconds * 1000 - ctx.now()) / 1000);
  return serializeCookie(
    CENTRAL_COOKIE,
    sign(ctx.keys.key('cookie'), session.id),
    session.persistent ? { maxAge: remaining } : {},
  );
}
