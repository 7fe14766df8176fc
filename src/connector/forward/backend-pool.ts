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
 * Requests of one client that may wait for a slot on a pool beyond those it holds (a burst from one address: a load
 * test, an office at nine o'clock); they start in order as its slots free up. More than this are refused at once.
 */
export const CLIENT_QUEUE = CONTENDED;

/**
 * Pooled keep-alive connections to each backend origin. undici's Pool.stream() costs about half the CPU per request
 * of http.request with an Agent, and carries any method token (RD Gateway's RDG_* included).
 */
/** Key of a pool's total in its count map (no client address is empty: empty clients are never counted). */
const TOTAL = '';

interface Waiter {
  client: string;
  admit(): void;
}

/** A client below its share always gets a slot; above it, only while the pool is not contended, up to CONTENDED. */
function admissible(counts: Map<string, number>, client: string): boolean {
  const held = counts.get(client) ?? 0;
  return held < CLIENT_SHARE || (held < CONTENDED && (counts.get(TOTAL) ?? 0) < CONTENDED);
}

function add(counts: Map<string, number>, key: string, n: number): void {
  const next = (counts.get(key) ?? 0) + n;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}

export class BackendPools {
  readonly #pools = new Map<string, Pool>();
  /** Per pushed app config (a new object on every config push, so the entry goes with it). */
  readonly #byApp = new WeakMap<ConnectorAppConfig, Pool>();
  /** Requests in flight per pool and client, and per pool in all (key ''). */
  readonly #inFlight = new WeakMap<Pool, Map<string, number>>();
  /** Requests waiting for a slot, per pool, in arrival order. */
  readonly #waiting = new WeakMap<Pool, Waiter[]>();

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
   * flight), or holds CONTENDED itself: then `wait` queues it. An empty `client` is not limited.
   */
  claim(app: ConnectorAppConfig, client: string): (() => void) | null {
    if (!client) return () => {};
    const pool = this.for(app);
    const counts = this.#counts(pool);
    if (!admissible(counts, client)) return null;
    return this.#take(pool, counts, client);
  }

  /**
   * Waits for one of `client`'s slots (after `claim` said no): resolves with the release function once it is
   * admitted, or with null when the client already has CLIENT_QUEUE requests waiting, or when `signal` aborts.
   */
  wait(app: ConnectorAppConfig, client: string, signal: AbortSignal): Promise<(() => void) | null> {
    const pool = this.for(app);
    const counts = this.#counts(pool);
    let queue = this.#waiting.get(pool);
    if (!queue) this.#waiting.set(pool, (queue = []));
    if (queue.filter((w) => w.client === client).length >= CLIENT_QUEUE || signal.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiter: Waiter = { client, admit: () => resolve(this.#take(pool, counts, client)) };
      queue.push(waiter);
      signal.addEventListener(
        'abort',
        () => {
          const i = queue.indexOf(waiter);
          if (i >= 0) {
            queue.splice(i, 1);
            resolve(null);
          }
        },
        { once: true },
      );
      this.#admitWaiting(pool, counts);
    });
  }

  #counts(pool: Pool): Map<string, number> {
    let counts = this.#inFlight.get(pool);
    if (!counts) this.#inFlight.set(pool, (counts = new Map()));
    return counts;
  }

  #take(pool: Pool, counts: Map<string, number>, client: string): () => void {
    add(counts, client, 1);
    add(counts, TOTAL, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      add(counts, client, -1);
      add(counts, TOTAL, -1);
      this.#admitWaiting(pool, counts);
    };
  }

  /** Starts waiting requests, oldest first, as far as each one's client may now take a slot. */
  #admitWaiting(pool: Pool, counts: Map<string, number>): void {
    const queue = this.#waiting.get(pool);
    if (!queue || queue.length === 0) return;
    for (let i = 0; i < queue.length; ) {
      if (!admissible(counts, queue[i].client)) {
        i++;
        continue;
      }
      const [waiter] = queue.splice(i, 1);
      waiter.admit();
    }
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
