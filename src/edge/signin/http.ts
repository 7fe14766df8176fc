/** Small HTTP helpers for the sign-in pages: bounded form bodies, responses with the security headers every page gets. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { renderError } from '../../errors/render.ts';
import { clientAddress } from '../listen/client-address.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';

export const MAX_FORM_BYTES = 16 * 1024;

/** What a sign-in page handler answers with: the exchange, its correlation id, and cookies to set on any answer. */
export interface Reply {
  req: IncomingMessage;
  res: ServerResponse;
  correlationId: string;
  cookies: string[];
}

/**
 * Pages carry no script (the passkey page runs one inline script, allowed by its hash), embed nothing, and are
 * never cached or framed.
 */
export function securityHeaders(scriptHash?: string): Record<string, string> {
  return {
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; img-src data:; ${scriptHash ? `script-src '${scriptHash}'; ` : ''}base-uri 'none'; frame-ancestors 'none'`,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
  };
}

export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  cookies: string[] = [],
  scriptHash?: string,
): void {
  if (res.headersSent) return;
  const body = Buffer.from(html);
  res.writeHead(status, {
    ...securityHeaders(scriptHash),
    'content-type': 'text/html; charset=utf-8',
    'content-length': body.length,
    ...(cookies.length ? { 'set-cookie': cookies } : {}),
  });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, cookies: string[] = []): void {
  if (res.headersSent) return;
  const body = Buffer.from(JSON.stringify(value));
  res.writeHead(status, {
    ...securityHeaders(),
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    ...(cookies.length ? { 'set-cookie': cookies } : {}),
  });
  res.end(body);
}

/** 303 after a POST (the browser follows with GET), 302 otherwise. */
export function redirect(res: ServerResponse, location: string, cookies: string[] = [], status = 302): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    ...securityHeaders(),
    location,
    'content-length': 0,
    ...(cookies.length ? { 'set-cookie': cookies } : {}),
  });
  res.end();
}

export function sendError(
  req: IncomingMessage,
  res: ServerResponse,
  code: ErrorCode,
  correlationId: string,
  detail?: string,
  cookies: string[] = [],
): void {
  if (res.headersSent) return;
  const rendered = renderError(code, correlationId, req.headers.accept, detail);
  const body = Buffer.from(rendered.body);
  res.writeHead(rendered.status, {
    ...securityHeaders(),
    'content-type': rendered.contentType,
    'content-length': body.length,
    ...(cookies.length ? { 'set-cookie': cookies } : {}),
  });
  res.end(body);
}

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage, limit = MAX_FORM_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A urlencoded form; anything else (multipart, JSON) is refused as empty so it fails the CSRF check. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  const body = await readBody(req);
  if (type !== 'application/x-www-form-urlencoded') return new URLSearchParams();
  return new URLSearchParams(body.toString('utf8'));
}

export function clientIp(req: IncomingMessage): string | null {
  return clientAddress(req.socket) ?? null;
}

export function userAgent(req: IncomingMessage): string | null {
  const ua = req.headers['user-agent'];
  return typeof ua === 'string' ? ua.slice(0, 512) : null;
}

/** The request path and query, whether the request line was origin-form or absolute-form. */
export function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'https://request.invalid');
}
