import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { withoutHopByHop } from '../../lib/http-headers.ts';
import {
  APP_HEADER,
  REQUEST_ID_HEADER,
  IDENTITY_HEADER,
  UPGRADE_HEADER,
  ASSERTION_HEADER,
  encodeIdentity,
  type Identity,
} from '../../tunnel/protocol.ts';
import type { App } from '../../store/types.ts';
import { clientAddress } from '../listen/client-address.ts';

/**
 * Headers a client may never set: our own metadata, and forwarding headers, which the edge sets itself. The edge is
 * the first hop from the untrusted internet, so a client's X-Forwarded-For is dropped and replaced with the address
 * the edge actually saw (documented in docs/architecture.md: "Forwarded headers").
 */
function isClientForbidden(header: string): boolean {
  // Backends that map '_' and '-' alike (CGI, PHP, WSGI) would read a client's X_Forwarded_For as X-Forwarded-For.
  const name = header.includes('_') ? header.replaceAll('_', '-') : header;
  return (
    name.startsWith('x-drawbridge-') ||
    name === 'x-forwarded-for' ||
    name === 'x-forwarded-proto' ||
    name === 'x-forwarded-host' ||
    name === 'x-forwarded-port' ||
    name === 'forwarded' ||
    name === 'x-real-ip'
  );
}

export interface StreamHeadersInput {
  req: IncomingMessage;
  app: App;
  method: string;
  correlationId: string;
  identity: Identity | null;
  /** Edge-signed assertion for header SSO, when the app wants one. */
  assertion?: string | null;
  upgrade?: string;
}

/** The request stream's headers: the client's end-to-end headers, forwarding headers, and the edge's metadata. */
export function buildStreamHeaders({
  req,
  app,
  method,
  correlationId,
  identity,
  assertion,
  upgrade,
}: StreamHeadersInput): OutgoingHttpHeaders {
  const headers = withoutHopByHop(req.headers, isClientForbidden);
  headers[':method'] = method;
  headers[':path'] = req.url ?? '/';
  headers[':authority'] = app.externalHost;
  headers[':scheme'] = 'https';
  headers['x-forwarded-for'] = clientAddress(req.socket) ?? '';
  headers['x-forwarded-proto'] = 'https';
  headers['x-forwarded-host'] = req.headers.host ?? app.externalHost;
  headers[APP_HEADER] = app.id;
  headers[REQUEST_ID_HEADER] = correlationId;
  if (identity) headers[IDENTITY_HEADER] = encodeIdentity(identity);
  if (assertion) headers[ASSERTION_HEADER] = assertion;
  if (upgrade) headers[UPGRADE_HEADER] = upgrade;
  return headers;
}

/**
 * True when the request carries a body (HTTP/1.1 framing rules: Transfer-Encoding or a non-zero Content-Length;
 * HTTP/2: a non-zero Content-Length, or none and the HEADERS frame did not end the stream).
 */
export function hasRequestBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  if (length === undefined && req.httpVersionMajor === 2)
    return !(req as IncomingMessage & { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders;
  return length !== undefined && length !== '0';
}
