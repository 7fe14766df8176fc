import http, { type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http2';
import http2 from 'node:http2';
import { ERROR_HEADER, UPGRADE_STATUS_HEADER, type Identity } from '../../tunnel/protocol.ts';
import type { App } from '../../store/types.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import { hostKey } from './routes.ts';
import { buildStreamHeaders } from './request-headers.ts';
import { buildResponseHeaders } from './response-headers.ts';
import { respondErrorOnSocket, errorCodeOr } from './respond-error.ts';
import type { ProxyDeps } from './handler.ts';

/**
 * WebSockets and other HTTP/1.1 upgrades: one bidirectional tunnel stream per upgraded connection. HTTP/2 forbids
 * the Connection/Upgrade headers, so the wanted protocol travels in UPGRADE_HEADER and the connector rebuilds them.
 */
export function createUpgradeHandler(deps: ProxyDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { routes, logger } = deps;
  return function onUpgrade(req, socket, head) {
    const correlationId = newCorrelationId();
    socket.on('error', () => socket.destroy());
    const app = routes.lookupHost(hostKey(req.headers.host));
    if (!app) return respondErrorOnSocket(socket, 'DB-ROUTE-UNKNOWN-HOST', correlationId, req.headers.accept);
    if (!app.enabled) return respondErrorOnSocket(socket, 'DB-ROUTE-APP-DISABLED', correlationId, req.headers.accept);
    if (app.preAuth === 'passthrough') return open(null);
    if (!deps.authenticate) return respondErrorOnSocket(socket, 'DB-INTERNAL', correlationId, req.headers.accept);
    // Pre-authentication writes its redirects and denial pages through a ServerResponse bound to the raw socket.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as never);
    deps.authenticate(req, res, app, correlationId).then((identity) => {
      if (!identity) return;
      res.detachSocket(socket as never);
      open(identity);
    }, () => respondErrorOnSocket(socket, 'DB-INTERNAL', correlationId, req.headers.accept));

    function open(identity: Identity | null): void {
      const a = app as App;
      const tunnel = deps.registry.pick(a.groupId, a.id);
      if (!tunnel) return respondErrorOnSocket(socket, 'DB-TUNNEL-NO-CONNECTOR', correlationId, req.headers.accept);
      const protocol = String(req.headers.upgrade ?? 'websocket');
      const headers = buildStreamHeaders({ req, app: a, method: req.method ?? 'GET', correlationId, identity, upgrade: protocol });
      let stream: http2.ClientHttp2Stream;
      try {
        stream = tunnel.session.request(headers, { endStream: false });
      } catch {
        return respondErrorOnSocket(socket, 'DB-TUNNEL-STREAM-FAILED', correlationId, req.headers.accept);
      }
      tunnel.inFlight++;
      stream.once('close', () => {
        tunnel.inFlight--;
        socket.destroy();
      });
      socket.once('close', () => { if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL); });
      stream.on('error', () => socket.destroy());
      stream.once('response', (h: IncomingHttpHeaders) => {
        const code = h[ERROR_HEADER];
        if (code !== undefined) {
          respondErrorOnSocket(socket, errorCodeOr(code, 'DB-INTERNAL'), correlationId, req.headers.accept);
          stream.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
        if (h[UPGRADE_STATUS_HEADER] !== '101') {
          // The backend declined the upgrade: relay its answer as a plain response, then close.
          const status = Number(h[':status']);
          socket.write(formatHead(status, http.STATUS_CODES[status] ?? '', { ...buildResponseHeaders(h, a), connection: 'close' }));
          stream.pipe(socket);
          return;
        }
        socket.write(formatHead(101, 'Switching Protocols', { ...buildResponseHeaders(h, a), connection: 'Upgrade', upgrade: protocol }));
        if (head.length > 0) stream.write(head);
        socket.pipe(stream);
        stream.pipe(socket);
      });
      logger.debug({ correlationId, appId: a.id, protocol }, 'upgrade forwarded');
    }
  };
}

function formatHead(status: number, reason: string, headers: http.OutgoingHttpHeaders): string {
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return head + '\r\n';
}
