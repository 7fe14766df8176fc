import { Pool } from 'undici';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';

/** Connections to one backend origin (per TLS setting); undici queues requests beyond them. */
export const BACKEND_CONNECTIONS = 256;
/**
 * Requests one client (its address, or IPv6 /64, as the edge saw it) may have in flight on one backend pool: a
 * quarter of its connections. Slow uploads or slow downloads from one client then hold at most a quarter of an app's
 * backend, and the rest stays free for everyone else (the edge bounds each client's requests too, but its limit is
 * per edge node and sized for a whole office behind one NAT address).
 */
export const CLIENT_SHARE = BACKEND_CONNECTIONS / 4;

/**
 * Pooled keep-alive connections to each backend origin. undici's Pool.stream() costs about half the CPU per request
 * of http.request with an Agent, and carries any method token (RD Gateway's RDG_* included).
 */
export class BackendPools {
  readonly #pools = new Map<string, Pool>();
  /** Per pushed app config (a new object on every config push, so the entry goes with it). */
  readonly #byApp = new WeakMap<ConnectorAppConfig, Pool>();
  /** Requests in flight per pool and client. */
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
   * often called). Null when the client already holds its share (CLIENT_SHARE). An empty `client` is not limited.
   */
  claim(app: ConnectorAppConfig, client: string): (() => void) | null {
    if (!client) return () => {};
    const pool = this.for(app);
    let counts = this.#inFlight.get(pool);
    if (!counts) this.#inFlight.set(pool, counts = new Map());
    const held = counts.get(client) ?? 0;
    if (held >= CLIENT_SHARE) return null;
    counts.set(client, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (counts.get(client) ?? 1) - 1;
      if (left <= 0) counts.delete(client);
      else counts.set(client, left);
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
