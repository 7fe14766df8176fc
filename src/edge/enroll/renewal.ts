import type { Store } from '../../store/types.ts';
import type { Logger } from '../../lib/log.ts';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { installRenewal, requestRenewalCsr } from '../../tunnel/control.ts';
import { normalizeSerial } from '../../pki/serial.ts';
import type { Tunnel } from '../tunnel/registry.ts';
import type { TunnelCa } from './tunnel-ca.ts';

const DAY_MS = 86_400_000;

export interface RenewalOptions {
  store: Store;
  ca: TunnelCa;
  logger: Logger;
  /** Validity of each new certificate. */
  validityDays: number;
  /** A certificate with less than this left is renewed the next time the edge looks (tunnel up, then hourly). */
  renewBeforeDays: number;
  now?: () => Date;
}

/** True when a certificate that ends at `notAfter` is inside the renewal window. */
export function needsRenewal(notAfter: string, now: Date, renewBeforeDays: number): boolean {
  return Date.parse(notAfter) - now.getTime() < renewBeforeDays * DAY_MS;
}

/**
 * Connector certificates are renewed over the tunnel, long before they expire, with no token and no operator: the
 * connector's current certificate authenticates it. The edge asks the connector for a CSR (its new key is made there
 * and never leaves), issues the certificate, records it as current while the old serial stays accepted, and hands
 * it over; the connector then redials its tunnels one by one with it, and the first tunnel that presents the new
 * serial clears the old one (tunnel-endpoint.ts). A failure anywhere leaves the old certificate working.
 */
export class CertificateRenewer {
  readonly #options: RenewalOptions;
  /** Connectors with a renewal under way: one at a time each. */
  readonly #running = new Set<string>();

  constructor(options: RenewalOptions) {
    this.#options = options;
  }

  /**
   * Renews when the certificate this tunnel presents is the connector's current one and is inside the window. Runs in
   * the background (tunnel up, hourly check): a failure is logged, the old certificate keeps working, and the next
   * check tries again.
   */
  async maybeRenew(tunnel: Tunnel): Promise<void> {
    // Its other tunnel may come up at the same moment: the first caller checks (and renews), the others leave.
    await this.#exclusive(
      tunnel.connectorId,
      async () => {
        const row = await this.#options.store.connectors.getById(tunnel.connectorId);
        if (!row || !row.enabled || normalizeSerial(row.certSerial) !== tunnel.certSerial) return;
        if (!needsRenewal(row.certNotAfter, (this.#options.now ?? (() => new Date()))(), this.#options.renewBeforeDays))
          return;
        await this.#renew(tunnel, 'edge');
      },
      () => undefined,
    ).catch((err: Error) => {
      this.#options.logger.warn(
        { connectorId: tunnel.connectorId, err: err.message, code: 'DB-CONNECTOR-RENEWAL-FAILED' },
        'certificate renewal failed',
      );
    });
  }

  /** Renews now (an administrator asked). */
  renew(tunnel: Tunnel, actor: string): Promise<{ serial: string; notAfter: string }> {
    return this.#exclusive(
      tunnel.connectorId,
      () => this.#renew(tunnel, actor),
      () => {
        throw new DrawbridgeError('DB-CONNECTOR-RENEWAL-FAILED', 'a renewal of this connector is already under way');
      },
    );
  }

  async #exclusive<T>(connectorId: string, work: () => Promise<T>, busy: () => T): Promise<T> {
    if (this.#running.has(connectorId)) return busy();
    this.#running.add(connectorId);
    try {
      return await work();
    } finally {
      this.#running.delete(connectorId);
    }
  }

  async #renew(tunnel: Tunnel, actor: string): Promise<{ serial: string; notAfter: string }> {
    const { store, ca, logger, validityDays } = this.#options;
    const id = tunnel.connectorId;
    const { csr } = await requestRenewalCsr(tunnel.session).catch((err: Error) => {
      throw new DrawbridgeError('DB-CONNECTOR-RENEWAL-FAILED', `the connector gave no CSR: ${err.message}`);
    });
    const issued = await ca.issueConnectorCertificate(csr, id, validityDays);
    // Current from now on; the serial this tunnel presented stays accepted until the connector uses the new one.
    await store.connectors.update(tunnel.tenantId, id, {
      certSerial: issued.serial,
      certNotAfter: issued.notAfter,
      previousCertSerial: tunnel.certSerial,
    });
    await installRenewal(tunnel.session, { certificate: issued.certPem }).catch((err: Error) => {
      throw new DrawbridgeError(
        'DB-CONNECTOR-RENEWAL-FAILED',
        `the connector did not install its new certificate: ${err.message}`,
      );
    });
    logger.info(
      { connectorId: id, previousSerial: tunnel.certSerial, serial: issued.serial, notAfter: issued.notAfter, actor },
      'connector certificate renewed',
    );
    await store.audit.append({
      tenantId: tunnel.tenantId,
      actor,
      action: 'connector.certificate-renewed',
      target: id,
      detail: { previousSerial: tunnel.certSerial, serial: issued.serial, notAfter: issued.notAfter },
    });
    return { serial: issued.serial, notAfter: issued.notAfter };
  }
}
