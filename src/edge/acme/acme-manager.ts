import https from 'node:https';
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import acme from 'acme-client';
import type { EdgeConfig } from '../../config/edge-config.ts';
import type { Logger } from '../../lib/log.ts';
import type { App, Store, StoredAppCertificate } from '../../store/types.ts';
import { challengeHost } from './alpn-challenge.ts';

type AcmeConfig = NonNullable<EdgeConfig['acme']>;

const DAY_MS = 86_400_000;

/** Whether an app needs an order: no usable certificate for its current host, or an ACME one about to expire. */
export function needsCertificate(
  app: App,
  stored: StoredAppCertificate | null,
  renewBeforeDays: number,
  now = Date.now(),
): boolean {
  if (!stored || stored.host !== app.externalHost) return true;
  if (stored.source === 'upload') return false; // the administrator's own: never replaced behind their back
  return Date.parse(stored.notAfter) - now < renewBeforeDays * DAY_MS;
}

/**
 * Certificates for custom domains through ACME (RFC 8555, the `acme-client` library), answered by TLS-ALPN-01
 * (RFC 8737) on the public port (alpn-challenge.ts). Every check runs under the store's ACME lock, so in a cluster one
 * node places orders while the others serve what it stores; challenge certificates live in the store, so whichever
 * node the ACME server's connection reaches answers it. The account key is made once and kept, sealed, in the store.
 */
export class AcmeManager {
  readonly #store: Store;
  readonly #config: AcmeConfig;
  readonly #logger: Logger;
  /** The apps to look at: enabled, not wildcard, not covered by a configured certificate. */
  readonly #candidates: () => App[];
  #client: acme.Client | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  constructor(options: { store: Store; config: AcmeConfig; logger: Logger; candidates: () => App[] }) {
    this.#store = options.store;
    this.#config = options.config;
    this.#logger = options.logger;
    this.#candidates = options.candidates;
    if (options.config.caFile)
      acme.axios.defaults.httpsAgent = new https.Agent({ ca: readFileSync(options.config.caFile, 'utf8') });
  }

  start(): void {
    this.#timer = setInterval(() => void this.check(), this.#config.checkIntervalSeconds * 1000);
    this.#timer.unref();
    void this.check();
  }

  /** Resolves once the check in progress (and one more, if asked for meanwhile) has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#running;
  }

  /** Looks for apps that need a certificate now; calls during a check run one more check after it. */
  check(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        if (this.#stopped) return;
        const result = await this.#store.certificates.withAcmeLock(() => this.#orderAll());
        if (!result.ran) this.#logger.debug({}, 'acme: another edge node is placing orders');
      } while (this.#again && !this.#stopped);
    })()
      .catch((err: Error) => this.#logger.error({ code: 'DB-ACME-ORDER-FAILED', err }, 'acme: check failed'))
      .finally(() => {
        this.#running = null;
      });
    return this.#running;
  }

  async #orderAll(): Promise<void> {
    for (const app of this.#candidates()) {
      if (this.#stopped) return;
      const stored = await this.#store.certificates.get(app.tenantId, app.id);
      if (!needsCertificate(app, stored, this.#config.renewBeforeDays)) continue;
      try {
        await this.#order(app);
      } catch (err) {
        // Logged and retried on the next check; the app keeps whatever it was served before.
        this.#logger.error(
          { code: 'DB-ACME-ORDER-FAILED', appId: app.id, host: app.externalHost, err },
          'acme: no certificate for the app',
        );
      }
    }
  }

  async #order(app: App): Promise<void> {
    const client = await this.#acmeClient();
    const host = app.externalHost;
    const [keyPem, csr] = await acme.crypto.createCsr({ altNames: [host] }, await acme.crypto.createPrivateEcdsaKey());
    this.#logger.info({ appId: app.id, host }, 'acme: ordering a certificate');
    const certPem = await client.auto({
      csr,
      email: this.#config.email,
      termsOfServiceAgreed: true,
      challengePriority: ['tls-alpn-01'],
      // The library's own pre-check dials the host on port 443 from here; the ACME server's validation is what counts.
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        if ((challenge.type as string) !== 'tls-alpn-01')
          throw new Error(`acme: challenge ${challenge.type} is not answered here`);
        const [challengeKey, challengeCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
        await this.#store.certificates.putAcmeChallenge({
          host: challengeHost(authz.identifier.value),
          certPem: challengeCert.toString(),
          keyPem: challengeKey.toString(),
        });
      },
      challengeRemoveFn: async (authz) => {
        await this.#store.certificates.deleteAcmeChallenge(challengeHost(authz.identifier.value));
      },
    });
    const notAfter = new X509Certificate(certPem).validTo;
    await this.#store.certificates.put(app.tenantId, app.id, {
      host,
      source: 'acme',
      certPem,
      keyPem: keyPem.toString(),
      notAfter: new Date(notAfter).toISOString(),
    });
    await this.#store.audit.append({
      tenantId: app.tenantId,
      actor: 'edge',
      action: 'app.certificate.issued',
      target: app.id,
      detail: { host, notAfter, directoryUrl: this.#config.directoryUrl },
    });
    this.#logger.info({ appId: app.id, host, notAfter }, 'acme: certificate issued');
  }

  async #acmeClient(): Promise<acme.Client> {
    if (this.#client) return this.#client;
    const directoryUrl = this.#config.directoryUrl;
    const accountKey = await this.#store.certificates.initAcmeAccount(
      directoryUrl,
      (await acme.crypto.createPrivateEcdsaKey()).toString(),
    );
    this.#client = new acme.Client({ directoryUrl, accountKey });
    return this.#client;
  }
}
