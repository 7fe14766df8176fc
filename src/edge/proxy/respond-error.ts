import { STATUS_CODES } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { renderError } from '../../errors/render.ts';
import { isErrorCode, type ErrorCode } from '../../errors/catalogue.ts';

/** Answers with the catalogue page (or JSON) for `code`, unless the response already started. */
export function respondError(res: ServerResponse, code: ErrorCode, correlationId: string, detail?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const accept = res.req?.headers.accept;
  const page = renderError(code, correlationId, accept, detail);
  // Set on its own so it stays readable after writeHead: the request counter labels the response with it (edge/metrics.ts).
  res.setHeader('x-drawbridge-error', code);
  res.writeHead(page.status, {
    'content-type': page.contentType,
    'content-length': Buffer.byteLength(page.body),
    'cache-control': 'no-store',
    'x-correlation-id': correlationId,
  });
  res.end(res.req?.method === 'HEAD' ? undefined : page.body);
}

/** The same for a raw socket (upgrade requests have no ServerResponse). */
export function respondErrorOnSocket(
  socket: Duplex,
  code: ErrorCode,
  correlationId: string,
  accept: string | undefined,
  detail?: string,
): void {
  const page = renderError(code, correlationId, accept, detail);
  const head = `${statusLine(page.status)}\r\ncontent-type: ${page.contentType}\r\ncontent-length: ${Buffer.byteLength(page.body)}\r\nx-correlation-id: ${correlationId}\r\nx-drawbridge-error: ${code}\r\nconnection: close\r\n\r\n`;
  socket.end(head + page.body);
}

/** The connector's percent-encoded error detail; anything undecodable is dropped rather than trusted or thrown on. */
export function decodeDetail(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

export function errorCodeOr(value: unknown, fallback: ErrorCode): ErrorCode {
  return isErrorCode(value) ? value : fallback;
}

/** `HTTP/1.1 <status> <reason>` for answers written on a raw socket. */
export function statusLine(status: number): string {
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`;
}
