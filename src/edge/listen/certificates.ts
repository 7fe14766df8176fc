import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';

interface Entry {
  names: string[];
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

  static async load(files: { certFile: string; keyFile: string }[]): Promise<CertificateStore> {
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
        context = tls.createSecureContext({ cert, key, minVersion: 'TLSv1.2' });
      } catch (err) {
        throw new DrawbridgeError('DB-CONFIG-INVALID', `tls: ${certFile} / ${keyFile}: ${(err as Error).message}`, { cause: err });
      }
      const names = (x509.subjectAltName ?? '').split(', ').filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4).toLowerCase());
      entries.push({ names, context });
    }
    return new CertificateStore(entries);
  }

  get defaultContext(): tls.SecureContext {
    return this.#entries[0].context;
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
