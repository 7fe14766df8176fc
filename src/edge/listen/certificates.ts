import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { tlsProfileOptions, type TlsProfile } from './tls-profile.ts';

interface Entry {
  names: string[];
  cert: string;
  key: string;
  context: tls.SecureContext;
}

/**
 * The public certificates, chosen per connection by SNI from each certificate's own SANs: exact names first, then
 * one-label wildcards (`*.apps.example` covers `hr.apps.example`, never `a.b.apps.example`).
 */
export class CertificateStore {
  readonly #entries: Entry[];

  private constructor(entries: Entry[]) {
    this.#entries = entries;
  }

  /** Every context carries the profile's versions and suites: a context chosen by SNI replaces the server's own. */
  static async load(files: { certFile: string; keyFile: string }[], profile: TlsProfile = 'intermediate'): Promise<CertificateStore> {
    const entries: Entry[] = [];
    for (const { certFile, keyFile } of files) {
      let cert: string;
      let key: string;
      try {
        [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
      } catch (err) {
        throw new DrawbridgeError('DB-CONFIG-INVALID', `tls: cannot read ${(err as NodeJS.ErrnoException).path}`, { cause: err });
      }
      let x509: X509Certificate;
      let context: tls.SecureContext;
      try {
        x509 = new X509Certificate(cert);
        context = tls.createSecureContext({ cert, key, ...tlsProfileOptions(profile) });
      } catch (err) {
        throw new DrawbridgeError('DB-CONFIG-INVALID', `tls: ${certFile} / ${keyFile}: ${(err as Error).message}`, { cause: err });
      }
      const names = (x509.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4).toLowerCase());
      entries.push({ names, cert, key, context });
    }
    return new CertificateStore(entries);
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
    const parent = name.slice(name.indexOf('.') + 1);
    for (const e of this.#entries) if (e.names.includes(name)) return e.context;
    for (const e of this.#entries) if (e.names.includes(`*.${parent}`)) return e.context;
    return this.defaultContext;
  }

  /** For tests and the CLI: the names a host would be served under. */
  covers(host: string): boolean {
    const name = host.toLowerCase();
    const parent = name.slice(name.indexOf('.') + 1);
    return this.#entries.some((e) => e.names.includes(name) || e.names.includes(`*.${parent}`));
  }
}
