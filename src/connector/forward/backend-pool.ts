import { Pool } from 'undici';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';

/**
 * Pooled keep-alive connections to each backend origin. undici's Pool.stream() costs about half the CPU per request
 * of http.request with an Agent, and carries any method token (RD Gateway's RDG_* included).
 */
export class BackendPools {
  readonly #pools = new Map<string, Pool>();
  /** Per pushed app config (a new object on every config push, so the entry goes with it). */
  readonly #byApp = new WeakMap<ConnectorAppConfig, Pool>();

  for(app: ConnectorAppConfig): Pool {
    const cached = this.#byApp.get(app);
    if (cached) return cached;
    const { origin } = backendTarget(app.internalUrl);
    // TLS settings are part of the key: two apps on one origin with different validation get separate pools.
    const key = `${origin}|${app.tlsVerify}|${app.backendCa ?? ''}`;
    let pool = this.#pools.get(key);
    if (!pool) {
      pool = new Pool(origin, {
        connections: 256,
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
