import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) plus those HTTP/2 forbids as connection-specific. They describe one
 * connection and must never be forwarded across the proxy. `expect` too: the edge answers 100-continue to its client
 * itself, and undici refuses to send it.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
  'host',
  'expect',
]);

/** Copies headers minus hop-by-hop ones and those named by `Connection`; drops HTTP/2 pseudo-headers. */
export function withoutHopByHop(
  headers: IncomingHttpHeaders | OutgoingHttpHeaders,
  extraDrop?: (name: string) => boolean,
): OutgoingHttpHeaders {
  const connection = headers.connection;
  const named =
    typeof connection === 'string' && connection !== 'keep-alive' && connection !== 'close'
      ? new Set(
          connection
            .toLowerCase()
            .split(',')
            .map((s) => s.trim()),
        )
      : undefined;
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (name.charCodeAt(0) === 58 /* ':' */ || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    if (extraDrop !== undefined && extraDrop(name)) continue;
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
