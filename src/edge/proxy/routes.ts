import type { App, Store } from '../../store/types.ts';
import { mostSpecific } from './host-match.ts';
import { LinkTranslator } from './link-translation.ts';

/**
 * The edge's in-memory routing table: Host → app, the most specific app first (an exact host, then the wildcard app
 * `*.suffix` with the longest suffix: host-match.ts). The request path reads only this; it is rebuilt from the store
 * when the store reports a change, so no request ever waits on the database.
 */
export class RouteTable {
  #byHost = new Map<string, App>();
  #byId = new Map<string, App>();
  /** Per tenant: its apps' internal → external URLs, compiled once per reload (link-translation.ts). */
  #links = new Map<string, LinkTranslator>();
  readonly #store: Store;
  #reloading: Promise<void> | null = null;
  #again = false;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Reloads everything; concurrent calls coalesce into at most one more reload. */
  reload(): Promise<void> {
    if (this.#reloading) {
      this.#again = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      do {
        this.#again = false;
        const apps = await this.#store.apps.listAll();
        this.#byHost = new Map(apps.map((a) => [a.externalHost, a]));
        this.#byId = new Map(apps.map((a) => [a.id, a]));
        const byTenant = Map.groupBy(apps, (a) => a.tenantId);
        this.#links = new Map(
          [...byTenant].map(([tenantId, tenantApps]) => [tenantId, new LinkTranslator(tenantApps)]),
        );
      } while (this.#again);
    })().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  lookupHost(host: string): App | undefined {
    return mostSpecific(this.#byHost, host);
  }

  all(): App[] {
    return [...this.#byId.values()];
  }

  /** The tenant's link translation: every one of its apps' internal URLs → external URL. */
  linksOf(tenantId: string): LinkTranslator {
    return this.#links.get(tenantId) ?? NO_LINKS;
  }

  get(id: string): App | undefined {
    return this.#byId.get(id);
  }

  appsOfGroup(groupId: string): App[] {
    return [...this.#byId.values()].filter((a) => a.groupId === groupId);
  }

  groupIds(): Set<string> {
    return new Set([...this.#byId.values()].map((a) => a.groupId));
  }
}

const NO_LINKS = new LinkTranslator([]);

/** `Host` header → routing key: lower-case, without port, without a trailing dot. */
export function hostKey(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  let host = hostHeader.toLowerCase();
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  if (colon >= 0) host = host.slice(0, colon);
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
