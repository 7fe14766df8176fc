import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { toDrawbridgeError, DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { renderError } from '../../errors/render.ts';
import type { Store } from '../../store/types.ts';
import { parseEnrollRequest, type EnrollResponse } from './enroll-request.ts';
import { readBody } from './read-body.ts';
import { clientAddress } from '../listen/client-address.ts';
import { verifyCsrOrThrow, type TunnelCa } from './tunnel-ca.ts';

export interface EnrollDeps {
  store: Store;
  ca: TunnelCa;
  tunnelHost: string;
  logger: Logger;
  now?: () => Date;
  /** Validity of issued connector certificates (default 365 days). */
  certValidityDays?: number;
}

export const MAX_ENROLL_BODY_BYTES = 64 * 1024;
const BODY_TIMEOUT_MS = 10_000;
const DEFAULT_CERT_VALIDITY_DAYS = 365;

/**
 * `POST ENROLL_PATH` on the tunnel host: one-time token + CSR in, connector certificate out.
 *
 * 1. read the JSON body (≤ 64 KiB, 10 s) and bound every field;
 * 2. verify the CSR signature *before* touching the token, so a broken CSR does not burn a one-time token;
 * 3. consume the token atomically for a new connector id (tenant and group come from the token, never the body);
 * 4. issue CN=<connectorId> clientAuth from the tunnel CA;
 * 5. create the Connector row with the certificate's serial and expiry, then record `connector.enrolled`;
 * 6. answer 201 with the certificate, the CA to pin and the tunnel host.
 *
 * Errors are catalogue JSON `{ error: { code, title, message, detail?, correlationId } }`.
 */
export async function handleEnroll(req: IncomingMessage, res: ServerResponse, deps: EnrollDeps): Promise<void> {
  const correlationId = randomBytes(9).toString('base64url');
  const log = deps.logger.child({ correlationId, route: 'enroll' });
  const now = deps.now ?? (() => new Date());
  try {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      throw new DrawbridgeError('DB-ENROLL-METHOD-NOT-ALLOWED', `got ${req.method}`);
    }
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (contentType !== 'application/json')
      throw new DrawbridgeError('DB-ENROLL-REQUEST-INVALID', 'content-type: expected application/json');

    const input = parseEnrollRequest(await readBody(req, MAX_ENROLL_BODY_BYTES, BODY_TIMEOUT_MS));
    await verifyCsrOrThrow(input.csr);

    const connectorId = `con_${randomBytes(8).toString('hex')}`;
    const token = await deps.store.enrollmentTokens.consume(input.token, connectorId, now());
    const { tenantId, groupId } = token;

    const issued = await deps.ca.issueConnectorCertificate(
      input.csr,
      connectorId,
      deps.certValidityDays ?? DEFAULT_CERT_VALIDITY_DAYS,
    );
    const name = input.name ?? input.hostname ?? connectorId;
    await deps.store.connectors.create({
      id: connectorId,
      tenantId,
      groupId,
      name,
      certSerial: issued.serial,
      certNotAfter: issued.notAfter,
    });
    if (input.version !== null || input.hostname !== null) {
      await deps.store.connectors.update(tenantId, connectorId, { version: input.version, hostname: input.hostname });
    }
    await deps.store.audit.append({
      tenantId,
      actor: `connector:${connectorId}`,
      action: 'connector.enrolled',
      target: connectorId,
      detail: {
        groupId,
        name,
        hostname: input.hostname,
        version: input.version,
        tokenId: token.id,
        certSerial: issued.serial,
        certNotAfter: issued.notAfter,
        address: clientAddress(req.socket) ?? null,
        correlationId,
      },
    });
    log.info({ tenantId, connectorId, groupId, certSerial: issued.serial, tokenId: token.id }, 'connector enrolled');

    const body: EnrollResponse = {
      connectorId,
      tenantId,
      groupId,
      certificate: issued.certPem,
      caCertificate: deps.ca.caCertPem,
      tunnelHost: deps.tunnelHost,
    };
    send(res, 201, 'application/json; charset=utf-8', JSON.stringify(body));
  } catch (err) {
    const e = toDrawbridgeError(err);
    if (e.status >= 500) log.error({ code: e.code, err }, 'enrollment failed');
    else log.warn({ code: e.code, detail: e.detail }, 'enrollment refused');
    // Stop reading a body we refused mid-way: close the connection rather than drain it.
    if (e.code === 'DB-ENROLL-BODY-TOO-LARGE' || e.code === 'DB-HTTP-TIMEOUT') res.setHeader('connection', 'close');
    const rendered = renderError(e.code, correlationId, 'application/json', e.status >= 500 ? undefined : e.detail);
    send(res, rendered.status, rendered.contentType, rendered.body);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(body);
}
