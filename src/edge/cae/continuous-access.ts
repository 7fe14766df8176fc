/**
 * Continuous access evaluation: a session's access is not decided once at sign-in but whenever something that
 * decides it changes, on every edge node, and what it holds open is closed when the answer becomes no.
 *
 * Triggers, all reaching every node:
 *   - sessions ended on purpose (sign-out, admin revocation, disabling, password reset): the session store announces
 *     them (`SessionStore.onEnded`; in memory, or Redis pub/sub in a cluster) → the connections they opened end;
 *   - the directory's access-shrinking changes (`user`, `user-group` change events through `store.onChange`;
 *     PostgreSQL NOTIFY in a cluster) → the user's (or the tenant's) live connections are re-evaluated, and their
 *     sessions are re-checked on their next request instead of at the periodic re-check;
 *   - `reevaluate(tenantId, userId?)` for callers with their own triggers (a policy changed, a location blocked).
 *
 * Policies plug in as `SessionCheck`s (`addCheck`): the request path calls them with the session and the request's
 * facts on every request of a pre-authenticated app, and re-evaluation calls them for every live connection. A check
 * must answer from cached facts (no database query per request).
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { catalogue, type ErrorCode } from '../../errors/catalogue.ts';
import type { DirectoryStore } from '../../store/directory-types.ts';
import type { Store } from '../../store/types.ts';
import { decideAccess } from '../access/decide.ts';
import { recordKey, type AppSession, type SessionsEnded, type SessionStore } from '../signin/sessions.ts';
import {
  LiveConnections,
  type Closable,
  type LiveConnection,
  type LiveKind,
  type RequestFacts,
} from './live-connections.ts';

export type { RequestFacts, LiveConnection, LiveKind, Closable } from './live-connections.ts';

export type SessionVerdict = { allow: true } | { allow: false; code: ErrorCode; reason: string };
/** A policy's say on one session for one request (or one live connection). */
export type SessionCheck = (session: AppSession, facts: RequestFacts) => SessionVerdict | Promise<SessionVerdict>;

/**
 * The request path's hook (ProxyDeps.track): registers a connection that may stay open, with how to end it. A no-op
 * for requests no session let through (passthrough apps).
 */
export type TrackLongLived = (
  req: IncomingMessage,
  kind: LiveKind,
  closed: Closable,
  end: (code: ErrorCode, reason: string) => void,
) => void;

export interface ContinuousAccessDeps {
  store: Store;
  directory: DirectoryStore;
  sessions: SessionStore;
  logger: Logger;
  now?: () => number;
}

export interface ContinuousAccess {
  /** Called by the app host when a session lets a request through: the connection it opens may be tracked. */
  admit(req: IncomingMessage, session: AppSession, facts: RequestFacts): void;
  track: TrackLongLived;
  /** The app session that let this request through (`admit`), or null: the RD Gateway mints its token from it. */
  sessionOf(req: IncomingMessage): AppSession | null;
  /** True when this user's access may have shrunk since the session was last checked (re-check it now). */
  changedSince(session: AppSession): boolean;
  /** Adds a check (a policy evaluator); returns its removal. */
  addCheck(check: SessionCheck): () => void;
  /** Every check's verdict, the first denial winning (synchronous while no check is plugged in). */
  check(session: AppSession, facts: RequestFacts): SessionVerdict | Promise<SessionVerdict>;
  /** Re-evaluates this node's live connections of one user, or of the whole tenant; returns how many were ended. */
  reevaluate(tenantId: string, userId?: string): Promise<number>;
  readonly live: LiveConnections;
  close(): void;
}

const ALLOW: SessionVerdict = { allow: true };
/** Change marks older than this are dropped: the periodic re-check (≤ 300 s by default) has covered them. */
const MARK_TTL_MS = 15 * 60_000;

/** The text of a WebSocket close reason: the code, then as much of its title as fits. */
export function closeReason(code: ErrorCode): string {
  return `${code}: ${catalogue[code].title}`;
}

export function createContinuousAccess(deps: ContinuousAccessDeps): ContinuousAccess {
  const now = deps.now ?? Date.now;
  const { directory, logger } = deps;
  const live = new LiveConnections();
  const admitted = new WeakMap<IncomingMessage, { session: AppSession; facts: RequestFacts }>();
  const checks = new Set<SessionCheck>();
  /** `tenant\0user` (or `tenant` alone for tenant-wide changes) → when their access last changed, on this node's clock. */
  const marks = new Map<string, number>();

  const mark = (tenantId: string, userId?: string) =>
    marks.set(userId ? `${tenantId}\u0000${userId}` : tenantId, now());
  const sweep = setInterval(() => {
    const old = now() - MARK_TTL_MS;
    for (const [k, t] of marks) if (t < old) marks.delete(k);
  }, 60_000);
  sweep.unref();

  function end(connections: LiveConnection[], code: ErrorCode, why: string): void {
    for (const c of connections) {
      logger.info(
        { tenantId: c.session.tenantId, userId: c.session.userId, appId: c.session.appId, kind: c.kind, code, why },
        'continuous access evaluation: closing a connection',
      );
      try {
        c.end(code, closeReason(code));
      } catch (err) {
        logger.warn({ err }, 'closing a live connection failed');
      }
    }
  }

  function check(session: AppSession, facts: RequestFacts): SessionVerdict | Promise<SessionVerdict> {
    return checks.size === 0 ? ALLOW : runChecks(session, facts);
  }
  async function runChecks(session: AppSession, facts: RequestFacts): Promise<SessionVerdict> {
    for (const c of checks) {
      const verdict = await c(session, facts);
      if (!verdict.allow) return verdict;
    }
    return ALLOW;
  }

  async function reevaluateUser(tenantId: string, userId: string, connections: LiveConnection[]): Promise<number> {
    if (connections.length === 0) return 0;
    const facts = await directory.access.facts(tenantId, userId);
    const assigned = facts ? await directory.assignments.appsForUser(tenantId, userId) : [];
    let ended = 0;
    for (const c of connections) {
      const decision = decideAccess(facts, c.session.appId, assigned);
      const verdict: SessionVerdict = decision.allow
        ? await check(c.session, c.facts)
        : { allow: false, code: decision.code, reason: decision.detail };
      if (verdict.allow) continue;
      end([c], verdict.code, verdict.reason);
      ended++;
      await directory.signinLog
        .append({
          tenantId,
          event: 'access',
          userId,
          username: c.session.identity.upn,
          appId: c.session.appId,
          clientIp: c.facts.clientIp,
          userAgent: c.facts.userAgent,
          result: 'denied',
          code: verdict.code,
          authMethod: null,
          mfaMethod: null,
          correlationId: null,
          detail: { reason: verdict.reason, continuousAccess: true, connection: c.kind },
        })
        .catch((err: Error) => logger.error({ err }, 'sign-in log write failed'));
    }
    return ended;
  }

  async function reevaluate(tenantId: string, userId?: string): Promise<number> {
    mark(tenantId, userId);
    const connections = userId ? live.ofUser(tenantId, userId) : live.ofTenant(tenantId);
    const byUser = new Map<string, LiveConnection[]>();
    for (const c of connections) {
      const list = byUser.get(c.session.userId);
      if (list) list.push(c);
      else byUser.set(c.session.userId, [c]);
    }
    let ended = 0;
    for (const [user, list] of byUser) ended += await reevaluateUser(tenantId, user, list);
    return ended;
  }

  function onEnded(e: SessionsEnded): void {
    const connections = live
      .ofUser(e.tenantId, e.userId)
      .filter((c) => e.centralKey === null || c.centralKey === e.centralKey);
    end(connections, e.reason, e.centralKey === null ? 'every session of the user ended' : 'the session ended');
  }

  const offEnded = deps.sessions.onEnded(onEnded);
  const offChange = deps.store.onChange((event) => {
    if (event.kind !== 'user' && event.kind !== 'user-group') return;
    reevaluate(event.tenantId, event.kind === 'user' ? event.id : undefined).catch((err: Error) =>
      logger.error({ err, event }, 'continuous access evaluation failed'),
    );
  });

  return {
    admit(req, session, facts) {
      admitted.set(req, { session, facts });
    },
    track(req, kind, closed, endConnection) {
      const entry = admitted.get(req);
      if (!entry) return;
      live.add(
        {
          kind,
          session: entry.session,
          centralKey: recordKey(entry.session.centralId),
          facts: entry.facts,
          end: endConnection,
        },
        closed,
      );
    },
    sessionOf(req) {
      return admitted.get(req)?.session ?? null;
    },
    changedSince(session) {
      const user = marks.get(`${session.tenantId}\u0000${session.userId}`);
      const tenant = marks.get(session.tenantId);
      return (user !== undefined && user >= session.checkedAt) || (tenant !== undefined && tenant >= session.checkedAt);
    },
    addCheck(c) {
      checks.add(c);
      return () => void checks.delete(c);
    },
    check,
    reevaluate,
    live,
    close() {
      clearInterval(sweep);
      offEnded();
      offChange();
    },
  };
}
