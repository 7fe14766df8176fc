import type tls from 'node:tls';
import type { Logger } from '../../lib/log.ts';
import type { App, Store } from '../../store/types.ts';
import type { CertificateStore } from './certificates.ts';

/**
 * Keeps the CertificateStore's app certificates in step with the store: reloaded on every app or certificate change
 * (from any node), so an upload or a renewal is served on the next handshake, without a restart. A certificate is
 * served only while its app keeps the host it was stored for, and only for that host.
 */
export class AppCertificates {
  readonly #store: Store;
  readonly #certificates: CertificateStore;
  readonly #apps: () => App[];
  readonly #logger: Logger;
  #reloading: Promise<void> | null = null;
  #again = false;

  constructor(options: { store: Store; certificates: CertificateStore; apps: () => App[]; logger: Logger }) {
    this.#store = options.store;
    this.#certificates = options.certificates;
    this.#apps = options.apps;
    this.#logger = options.logger;
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
        const hostOf = new Map(
          this.#apps()
            .filter((a) => a.enabled)
            .map((a) => [a.id, a.externalHost]),
        );
        const contexts = new Map<string, tls.SecureContext>();
        for (const c of await this.#store.certificates.listAll()) {
          if (hostOf.get(c.appId) !== c.host) continue;
          try {
            contexts.set(c.host, this.#certificates.contextFor(c.certPem, c.keyPem));
          } catch (err) {
            this.#logger.error(
              { code: 'DB-CONFIG-INVALID', appId: c.appId, host: c.host, err },
              'app certificate: cannot be loaded, the edge certificate is served instead',
            );
          }
        }
        this.#certificates.setAppContexts(contexts);
      } while (this.#again);
    })().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }
}
