/**
 * This node's open long-lived connections of pre-authenticated apps (WebSockets and other upgrades, responses still
 * streaming, RD Gateway channels), indexed by user, so continuous access evaluation can end exactly the ones a
 * change concerns. Each registers itself from the request path (`track`) and leaves the index when it closes.
 */
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { AppSession } from '../signin/sessions.ts';

/** What the request that opened a connection looked like: what a re-evaluation judges it by. */
export interface RequestFacts {
  appId: string;
  clientIp: string | null;
  userAgent: string | null;
  /** ms since epoch. */
  at: number;
}

export type LiveKind = 'websocket' | 'stream';

export interface LiveConnection {
  readonly kind: LiveKind;
  /** The app session as the request path validated it. */
  readonly session: AppSession;
  /** `recordKey()` of the central session that opened the app session. */
  readonly centralKey: string;
  readonly facts: RequestFacts;
  /** Ends the connection: a WebSocket gets close 1008 with the code as reason; anything else is aborted. */
  end(code: ErrorCode, reason: string): void;
}

/** Anything that says when it is gone: a socket, a ServerResponse. */
export interface Closable {
  once(event: 'close', listener: () => void): unknown;
}

const userKey = (tenantId: string, userId: string): string => `${tenantId}\u0000${userId}`;

export class LiveConnections {
  readonly #byUser = new Map<string, Set<LiveConnection>>();

  add(connection: LiveConnection, closed: Closable): void {
    const key = userKey(connection.session.tenantId, connection.session.userId);
    let set = this.#byUser.get(key);
    if (!set) this.#byUser.set(key, (set = new Set()));
    set.add(connection);
    closed.once('close', () => {
      const current = this.#byUser.get(key);
      if (!current) return;
      current.delete(connection);
      if (current.size === 0) this.#byUser.delete(key);
    });
  }

  ofUser(tenantId: string, userId: string): LiveConnection[] {
    return [...(this.#byUser.get(userKey(tenantId, userId)) ?? [])];
  }

  ofTenant(tenantId: string): LiveConnection[] {
    const out: LiveConnection[] = [];
    for (const set of this.#byUser.values()) for (const c of set) if (c.session.tenantId === tenantId) out.push(c);
    return out;
  }

  get size(): number {
    let n = 0;
    for (const set of this.#byUser.values()) n += set.size;
    return n;
  }
}
