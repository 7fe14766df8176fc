import { Pool } from 'undici';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';

/** Connections to one backend origin (per TLS setting); undici queues requests beyond them. */
export const BACKEND_CONNECTIONS = 256;
/**
 * Requests one client (its address, or IPv6 /64, as the edge saw it) is sure to get on one backend pool: a quarter
 * of its connections. Beyond it a client may borrow while the pool is lightly used, up to CONTENDED: a whole office
 * behind one NAT address is not refused while the backend has room, and slow uploads or downloads from one client
 * still never hold more than half of an app's backend (the edge bounds each client's requests too, per node).
 */
export const CLIENT_SHARE = BACKEND_CONNECTIONS / 4;
/** From this many requests in flight on a pool, no client gets more than its share. */
export const CONTENDED = BACKEND_CONNECTIONS / 2;

/**
 * Pooled keep-alive connections to each backend origin. undici's Pool.stream() costs about half the CPU per request
 * of http.request with an Agent, and carries any method token (RD Gateway's RDG_* included).
 */
/** Key of a pool's total in its count map (no client address is empty: empty clients are never counted). */
const TOTAL = '';

export class BackendPools {
  readonly #pools = new Map<string, Pool>();
  /** Per pushed app config (a new object on every config push, so the entry goes with it). */
  readonly #byApp = new WeakMap<ConnectorAppConfig, Pool>();
  /** Requests in flight per pool and client, and per pool in all (key ''). */
  readonly #inFlight = new WeakMap<Pool, Map<string, number>>();

  for(app: ConnectorAppConfig): Pool {
    const cached = this.#byApp.get(app);
    if (cached) return cached;
    const { origin } = backendTarget(app.internalUrl);
    // TLS settings are part of the key: two apps on one origin with different validation get separate pools.
    const key = `${origin}|${app.tlsVerify}|${app.backendCa ?? ''}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: BACKEND_CONNECTIONS,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 600_000,
        connect: {
          rejectUnauthorized: app.tlsVerify,
          ...(app.backendCa ? { ca: app.backendCa } : {}),
          noDelay: true,
        },
      });
      this.#pools.set(key, pool);
    }
    this.#byApp.set(app, pool);
    return pool;
  }

  /**
   * Takes one of `client`'s slots on the app's pool for a request: the returned function gives it back (once, however
   * often called). Null when the client holds its share (CLIENT_SHARE) and the pool is contended (CONTENDED requests in
   * flight), or holds CONTENDED itself. An empty `client` is not limited.
   */
  claim(app: ConnectorAppConfig, client: string): (() => void) | null {
    if (!client) return () => {};
    const pool = this.for(app);
    let counts = this.#inFlight.get(pool);
    if (!counts) this.#inFlight.set(pool, counts = new Map());
    const held = counts.get(client) ?? 0;
    const total = counts.get(TOTAL) ?? 0;
    if (held >= CLIENT_SHARE && (total >= CONTENDED || held >= CONTENDED)) return null;
    const add = (key: string, n: number): void => {
      const next = (counts.get(key) ?? 0) + n;
      if (next <= 0) counts.delete(key);
      else counts.set(key, next);
    };
    add(client, 1);
    add(TOTAL, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      add(client, -1);
      add(TOTAL, -1);
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.close().catch(() => {})));
    this.#pools.clear();
  }
}

export interface BackendTarget {
  origin: string;
  /** `host[:port]` for the Host header the backend expects. */
  host: string;
  /** The internal URL's path without its trailing slash ('' for the root). */
  basePath: string;
}

const targets = new Map<string, BackendTarget>();

/** The parts of an internal URL the request path needs, parsed once per URL rather than per request. */
export function backendTarget(internalUrl: string): BackendTarget {
  let target = targets.get(internalUrl);
  if (!target) {
    const url = new URL(internalUrl);
    target = { origin: url.origin, host: url.host, basePath: url.pathname.replace(/\/+$/, '') };
    if (targets.size > 10_000) targets.clear();
    targets.set(internalUrl, target);
  }
  return target;
}

/** External path → backend path: the app's internal base path is prefixed (internal `/hr/` + `/pay` → `/hr/pay`). */
export function backendPath(internalUrl: string, requestPath: string): string {
  return backendTarget(internalUrl).basePath + requestPath;
}
