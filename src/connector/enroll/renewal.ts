import { X509Certificate } from 'node:crypto';
import { rename } from 'node:fs/promises';
import { createCsr, exists, generateKeyPair, normalizeSerial, writeSecretFile } from '../../pki/index.ts';
import { checkIssued } from './register.ts';
import { statePaths } from './state.ts';

/** Where a renewed key and certificate wait before they replace the current pair. */
const nextOf = (file: string): string => `${file}.next`;

export interface InstalledCertificate {
  keyPem: string;
  certPem: string;
  serial: string;
  notAfter: string;
}

/** The connector's half of renewal as the supervisor drives it: in process, or through the primary of `--workers`. */
export interface Renewal {
  csr(): Promise<string>;
  install(certPem: string): Promise<InstalledCertificate>;
}

/**
 * The connector's half of certificate renewal, which the edge drives over a tunnel (the current certificate is what
 * authenticates it, so no token is needed):
 *   1. `csr()`: a new key made here (it never leaves the host), kept pending in memory; the edge gets its CSR;
 *   2. `install(cert)`: the certificate must certify the pending key, name this connector and chain to the pinned
 *      tunnel CA; key and certificate are written as `.next` files, then renamed over the current ones, key first.
 *      A crash between the two renames is finished by `completeRenewal` before the next start loads the state.
 */
export class CertificateRenewal implements Renewal {
  readonly #stateDir: string;
  readonly #connectorId: string;
  readonly #tunnelCaPem: string;
  #pending: { privateKeyPem: string; publicKeyPem: string } | null = null;

  constructor(state: { stateDir: string; connectorId: string; tunnelCaPem: string }) {
    this.#stateDir = state.stateDir;
    this.#connectorId = state.connectorId;
    this.#tunnelCaPem = state.tunnelCaPem;
  }

  async csr(): Promise<string> {
    const pair = await generateKeyPair();
    this.#pending = { privateKeyPem: pair.privateKeyPem, publicKeyPem: pair.publicKeyPem };
    return createCsr(pair.keys, this.#connectorId);
  }

  async install(certPem: string): Promise<InstalledCertificate> {
    const pending = this.#pending;
    if (!pending) throw new Error('no renewal under way: ask for a CSR first');
    checkIssued(certPem, this.#tunnelCaPem, this.#connectorId, pending.publicKeyPem);
    const files = statePaths(this.#stateDir);
    await writeSecretFile(nextOf(files.key), pending.privateKeyPem);
    await writeSecretFile(nextOf(files.cert), certPem);
    await completeRenewal(this.#stateDir);
    this.#pending = null;
    const cert = new X509Certificate(certPem);
    return {
      keyPem: pending.privateKeyPem,
      certPem,
      serial: normalizeSerial(cert.serialNumber),
      notAfter: cert.validToDate.toISOString(),
    };
  }
}

/**
 * Finishes a renewal that was written but not yet swapped in. The certificate's `.next` file is written last and
 * renamed last, so its presence means both new files are complete: move the key (if still pending), then the
 * certificate. Without it, a leftover key `.next` belongs to a renewal that never got its certificate: ignored.
 */
export async function completeRenewal(stateDir: string): Promise<boolean> {
  const files = statePaths(stateDir);
  if (!(await exists(nextOf(files.cert)))) return false;
  if (await exists(nextOf(files.key))) await rename(nextOf(files.key), files.key);
  await rename(nextOf(files.cert), files.cert);
  return true;
}
