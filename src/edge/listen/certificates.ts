import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { mostSpecific } from '../proxy/host-match.ts';
import { tlsProfileOptions, type TlsProfile } from './tls-profile.ts';

interface Entry {
  names: string[];
  cert: string;
  key: string;
  context: tls.SecureContext;
}

/**
 * The public certificates, chosen per connection by SNI. Apps' own certificates (custom domains: uploaded or from
 * ACME, swapped in by `setAppContexts` without a restart) come first, each only for its app's host pattern, the
 * most specific pattern winning as in routing. Then the configured certificates, by their own SANs: exact names
 * first, then one-label wildcards (`*.apps.example` covers `hr.apps.example`, never `a.b.apps.example`).
 */
export class CertificateStore {
  #entries: Entry[];
  #profile: TlsProfile;
  #apps: ReadonlyMap<string, tls.SecureContext> = new Map();

  private constructor(entries: Entry[], profile: TlsProfile) {
    this.#entries = entries;
    this.#profile = profile;
  }

  /**
   * Takes the configured certificates and profile of `next` (a configuration reload): new handshakes get them, open
   * connections keep theirs. Apps' contexts stay until the caller rebuilds them with the new profile.
   */
  adopt(next: CertificateStore): void {
    this.#entries = next.#entries;
    this.#profile = next.#profile;
  }

  get profile(): TlsProfile {
    return this.#profile;
  }

  /** A context for one app certificate with this edge's TLS profile; throws on a bad PEM or a key that does not match. */
  contextFor(cert: string, key: string): tls.SecureContext {
    return tls.createSecureContext({ cert, key, ...tlsProfileOptions(this.#profile) });
  }

  /** Replaces the apps' certificates: host pattern (an app's externalHost, maybe `*.suffix`) → context. */
  setAppContexts(contexts: ReadonlyMap<string, tls.SecureContext>): void {
    this.#apps = contexts;
  }

  /** Every context carries the profile's versions and suites: a context chosen by SNI replaces the server's own. */
  static async load(
    files: { certFile: string; keyFile: string }[],
    profile: TlsProfile = 'intermediate',
  ): Promise<CertificateStore> {
    const entries: Entry[] = [];
    for (const { certFile, keyFile } of files) {
      let cert: string;
      let key: string;
      try {
        [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
      } catch (err) {
        throw new DrawbridgeError('DB-CONFIG-INVALID', `tls: cannot read ${(err as NodeJS.ErrnoException).path}`, {
          cause: err,
        });
      }
      let x509: X509Certificate;
      let context: tls.SecureContext;
      try {
        x509 = new X509Certificate(cert);
        context = tls.createSecureContext({ cert, key, ...tlsProfileOptions(profile) });
      } catch (err) {
        throw new DrawbridgeError('DB-CONFIG-INVALID', `tls: ${certFile} / ${keyFile}: ${(err as Error).message}`, {
          cause: err,
        });
      }
      const names = (x509.subjectAltName ?? '')
        .split(', ')
        .filter((n) => n.startsWith('DNS:'))
        .map((n) => n.slice(4).toLowerCase());
      entries.push({ names, cert, key, context });
    }
    return new CertificateStore(entries, profile);
  }

  get defaultContext(): tls.SecureContext {
    return this.#entries[0].context;
  }

  /**
   * The first certificate and key, for the server's own options: Node's TLS server ignores a `secureContext` option
   * and builds its context from `cert`/`key`, which is what a client sending no SNI gets.
   */
  get defaultCredentials(): { cert: string; key: string } {
    const { cert, key } = this.#entries[0];
    return { cert, key };
  }

  select(serverName: string): tls.SecureContext {
    const name = serverName.toLowerCase();
    const own = mostSpecific(this.#apps, name);
    if (own) return own;
    const parent = name.slice(name.indexOf('.') + 1);
    for (const e of this.#entries) if (e.names.includes(name)) return e.context;
    for (const e of this.#entries) if (e.names.includes(`*.${parent}`)) return e.context;
    return this.defaultContext;
  }

  /** Whether a configured certificate (not an app's own) covers `host`: apps on such hosts need no ACME order. */
  covers(host: string): boolean {
    const name = host.toLowerCase();
    const parent = name.slice(name.indexOf('.') + 1);
    return this.#entries.some((e) => e.names.includes(name) || e.names.includes(`*.${parent}`));
  }
}
