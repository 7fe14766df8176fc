import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { isErrorCode } from '../../errors/catalogue.ts';
import { ENROLL_PATH } from '../../tunnel/protocol.ts';
import type { EnrollBody, EnrollAnswer } from '../../tunnel/enrollment.ts';

export type { EnrollBody, EnrollAnswer };

const MAX_RESPONSE_BYTES = 1024 * 1024;
const TIMEOUT_MS = 30_000;
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|HOSTNAME|ALTNAME/;

/** Splits `host:port`, `[v6]:port`, a bare host or IP; the port defaults to `defaultPort`. */
export function parseConnectAddress(value: string, defaultPort: number): { host: string; port: number } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : defaultPort };
  if (isIP(value) === 6) return { host: value, port: defaultPort };
  const hostPort = /^([^:]+):(\d+)$/.exec(value);
  if (hostPort) return { host: hostPort[1], port: Number(hostPort[2]) };
  if (/^[^:]+$/.test(value)) return { host: value, port: defaultPort };
  throw new DrawbridgeError(
    'DB-CONFIG-INVALID',
    `connectAddress: expected host, IP, host:port or [IPv6]:port, got "${value}"`,
  );
}

/**
 * POSTs the enrollment body to `${edgeUrl}${ENROLL_PATH}` over HTTPS. TLS trusts `ca` when given, else the system
 * roots; SNI and Host are the URL's host even when `connectAddress` says where to dial (dev names such as
 * tunnel.apps.localhost do not always resolve). Edge errors come back as DrawbridgeError with the edge's catalogue
 * code; network and TLS failures as DB-ENROLL-EDGE-UNREACHABLE.
 */
export async function postEnrollment(opts: {
  edgeUrl: URL;
  body: EnrollBody;
  ca?: string;
  connectAddress?: string;
}): Promise<EnrollAnswer> {
  const url = new URL(ENROLL_PATH, opts.edgeUrl);
  const defaultPort = Number(url.port || 443);
  const dial = opts.connectAddress ? parseConnectAddress(opts.connectAddress, defaultPort) : null;
  const urlHost = url.hostname.replace(/^\[|\]$/g, '');
  const base = buildConnector({
    ...(opts.ca ? { ca: opts.ca } : {}),
    // An IP literal is not a valid SNI name; the certificate's iPAddress SAN is checked instead.
    ...(isIP(urlHost) ? {} : { servername: urlHost }),
    timeout: TIMEOUT_MS,
  });
  const agent = new Agent({
    connect: dial
      ? (options, callback) => base({ ...options, hostname: dial.host, port: String(dial.port) }, callback)
      : base,
  });

  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(opts.body),
      headersTimeout: TIMEOUT_MS,
      bodyTimeout: TIMEOUT_MS,
    });
    status = res.statusCode;
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body) {
      total += (chunk as Buffer).length;
      if (total > MAX_RESPONSE_BYTES) {
        res.body.destroy();
        throw unreachable(url, 'the answer is larger than 1 MiB: not a Drawbridge edge?');
      }
      chunks.push(chunk as Buffer);
    }
    text = Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (err instanceof DrawbridgeError) throw err;
    throw networkError(url, err, dial);
  } finally {
    await agent.close().catch(() => {});
  }

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw unreachable(url, `HTTP ${status} with a body that is not JSON: is this the edge's tunnel host?`);
  }
  if (status !== 200 && status !== 201) throw edgeError(url, status, json);
  return checkAnswer(url, json);
}

function checkAnswer(url: URL, json: unknown): EnrollAnswer {
  const o = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  for (const field of ['connectorId', 'tenantId', 'groupId', 'certificate', 'caCertificate', 'tunnelHost'] as const) {
    if (typeof o[field] !== 'string' || o[field] === '') throw unreachable(url, `the answer lacks "${field}"`);
  }
  return o as unknown as EnrollAnswer;
}

function edgeError(url: URL, status: number, json: unknown): DrawbridgeError {
  const error = (
    json as { error?: { code?: unknown; message?: unknown; detail?: unknown; correlationId?: unknown } } | null
  )?.error;
  const code = error?.code;
  const parts = [
    typeof error?.detail === 'string' ? error.detail : null,
    typeof error?.message === 'string' ? error.message : null,
    typeof error?.correlationId === 'string' ? `edge correlation id ${error.correlationId}` : null,
  ].filter((p): p is string => p !== null);
  if (isErrorCode(code)) return new DrawbridgeError(code, parts.join('; ') || undefined);
  return unreachable(url, `HTTP ${status}${parts.length ? `: ${parts.join('; ')}` : ''}`);
}

function networkError(url: URL, err: unknown, dial: { host: string; port: number } | null): DrawbridgeError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? e.name;
  const where = dial ? `${url.host} (dialling ${dial.host}:${dial.port})` : url.host;
  let hint = '';
  if (TLS_CODES.test(code) || TLS_CODES.test(e.message ?? '')) {
    hint =
      '; the edge certificate is not trusted for this name: pass --ca-file with the CA that signed it, or check the URL';
  } else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    hint = '; the name does not resolve: fix DNS or pass --connect-address <ip[:port]>';
  } else if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') {
    hint = '; check the edge is running and outbound TCP to its port is allowed';
  }
  return new DrawbridgeError('DB-ENROLL-EDGE-UNREACHABLE', `${where}: ${code}: ${e.message}${hint}`, { cause: err });
}

function unreachable(url: URL, detail: string): DrawbridgeError {
  return new DrawbridgeError('DB-ENROLL-EDGE-UNREACHABLE', `${url.host}: ${detail}`);
}
