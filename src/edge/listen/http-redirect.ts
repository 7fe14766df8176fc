/**
 * The plain-HTTP port (`listen.httpPort`, off unless configured): it answers every request with a 308 to the https
 * URL of the same host and path, and never proxies anything. The Host header is hostile like everything else: only
 * hosts the edge serves (an app's external host, the sign-in and tunnel hosts) are redirected, to the URL the edge
 * knows for them (an app's external URL, so its port and spelling are the configured ones, never the client's);
 * any other host gets 404 `DB-ROUTE-UNKNOWN-HOST`, and a target that is not a plain path (absolute-form, `*`) 400
 * `DB-HTTP-BAD-TARGET`. No HSTS here: browsers ignore it over HTTP (RFC 6797 §8.1); apps send it over HTTPS.
 */
import http from 'node:http';
import type net from 'node:net';
import type { Logger } from '../../lib/log.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { RouteTable } from '../proxy/routes.ts';
import { hostKey } from '../proxy/routes.ts';
import { respondError } from '../proxy/respond-error.ts';

export interface HttpRedirectOptions {
  host: string;
  port: number;
  routes: RouteTable;
  /** The edge's own hosts (sign-in, tunnel), redirected to `https://<host><publicSuffix>`. */
  systemHosts: () => Iterable<string>;
  /** The public HTTPS port as users see it. */
  publicPort: () => number;
  logger: Logger;
  /** The same header limits and timeouts as the public port. */
  serverOptions: http.ServerOptions;
}

/** Where a plain-HTTP request for `hostHeader` + `target` belongs, or why it gets none. */
export function redirectTarget(
  hostHeader: string | undefined,
  target: string,
  o: Pick<HttpRedirectOptions, 'routes' | 'systemHosts' | 'publicPort'>,
): { location: string } | { code: 'DB-ROUTE-UNKNOWN-HOST' | 'DB-HTTP-BAD-TARGET' } {
  if (!target.startsWith('/')) return { code: 'DB-HTTP-BAD-TARGET' };
  const host = hostKey(hostHeader);
  const app = host === '' ? undefined : o.routes.lookupHost(host);
  if (app) return { location: `${app.externalUrl.replace(/\/+$/, '')}${target}` };
  if (host !== '' && [...o.systemHosts()].includes(host)) {
    const port = o.publicPort();
    return { location: `https://${host}${port === 443 ? '' : `:${port}`}${target}` };
  }
  return { code: 'DB-ROUTE-UNKNOWN-HOST' };
}

export async function listenHttpRedirect(o: HttpRedirectOptions): Promise<http.Server> {
  const server = http.createServer(o.serverOptions, (req, res) => {
    // A request body is never read: close the connection after the answer rather than drain it.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined)
      res.shouldKeepAlive = false;
    const answer = redirectTarget(req.headers.host, req.url ?? '', o);
    if ('code' in answer) {
      const correlationId = newCorrelationId();
      o.logger.info({ correlationId, host: req.headers.host, code: answer.code }, 'plain HTTP request refused');
      respondError(res, answer.code, correlationId);
      return;
    }
    const body = `Redirecting to ${answer.location}\n`;
    res.writeHead(308, {
      location: answer.location,
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.on('clientError', (err, socket) => {
    if (!socket.writable) return socket.destroy();
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  o.logger.info({ httpPort: (server.address() as net.AddressInfo).port }, 'plain HTTP port redirecting to HTTPS');
  return server;
}
