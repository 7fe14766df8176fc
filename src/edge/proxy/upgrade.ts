import http, { type IncomingMessage } from 'node:http';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { IncomingHttpHeaders } from 'node:http2';
import http2 from 'node:http2';
import { ERROR_HEADER, UPGRADE_STATUS_HEADER, type Identity } from '../../tunnel/protocol.ts';
import type { App } from '../../store/types.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import { hostKey } from './routes.ts';
import { isForwardablePath } from '../../lib/request-target.ts';
import { buildStreamHeaders } from './request-headers.ts';
import { buildResponseHeaders } from './response-headers.ts';
import { respondErrorOnSocket, errorCodeOr } from './respond-error.ts';
import { assertionFor, type ProxyDeps } from './handler.ts';
import { requestHeadProblem } from './request-hygiene.ts';
import { streamToGroup } from './stream-to-group.ts';
import { relayBothWays, stopRelay } from '../../lib/relay.ts';
import { isTcpUpgrade, openTcpChannel } from './tcp-channel.ts';
import { isTcpUrl } from '../../lib/tcp-target.ts';
import { originalMethod } from '../../lib/http1/extension-methods.ts';
import { handleGatewayUpgrade, isGatewayRequest, isRdpApp } from '../rdg/server.ts';
import {
  WebSocketFrameTracker,
  closeForPolicy,
  closeFrame,
  WS_GOING_AWAY,
  WS_INTERNAL_ERROR,
} from './websocket-close.ts';

/**
 * WebSockets and other HTTP/1.1 upgrades: one bidirectional tunnel stream per upgraded connection. HTTP/2 forbids
 * the Connection/Upgrade headers, so the wanted protocol travels in UPGRADE_HEADER and the connector rebuilds them.
 */
export function createUpgradeHandler(deps: ProxyDeps): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  const { routes, logger } = deps;
  return function onUpgrade(req, socket, head) {
    const correlationId = newCorrelationId();
    socket.on('error', () => socket.destroy());
    const problem = requestHeadProblem(req, deps.maxHeaderCount);
    if (problem) return respondErrorOnSocket(socket, problem, correlationId, req.headers.accept);
    const app = routes.lookupHost(hostKey(req.headers.host));
    if (!app) return respondErrorOnSocket(socket, 'DB-ROUTE-UNKNOWN-HOST', correlationId, req.headers.accept);
    if (!app.enabled) return respondErrorOnSocket(socket, 'DB-ROUTE-APP-DISABLED', correlationId, req.headers.accept);
    if (!isForwardablePath(req.url ?? ''))
      return respondErrorOnSocket(socket, 'DB-HTTP-BAD-TARGET', correlationId, req.headers.accept);
    // Apps of kind rdp: the edge is their RD Gateway; its clients authenticate with a gateway access token inside
    // the protocol (edge/rdg/), not with a cookie.
    if (isRdpApp(app)) {
      if (!deps.rdg || !isGatewayRequest(req))
        return respondErrorOnSocket(socket, 'DB-HTTP-METHOD-NOT-SUPPORTED', correlationId, req.headers.accept);
      return handleGatewayUpgrade(deps.rdg, req, socket, head, app, correlationId);
    }
    // TCP apps: the channel has its own authorisation (a bearer token, never a cookie) and no HTTP after the 101.
    if (isTcpUrl(app.internalUrl) || isTcpUpgrade(req))
      return openTcpChannel(
        { registry: deps.registry, logger, authorize: deps.authorizeChannel ?? null },
        req,
        socket,
        head,
        app,
        correlationId,
      );
    if (app.preAuth === 'passthrough') return open(null);
    if (!deps.authenticate) return respondErrorOnSocket(socket, 'DB-INTERNAL', correlationId, req.headers.accept);
    // Pre-authentication writes its redirects and denial pages through a ServerResponse bound to the raw socket.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket as never);
    // No HTTP server manages this socket: a redirect or denial says `Connection: close` and then really closes it.
    res.shouldKeepAlive = false;
    res.once('finish', () => (socket as net.Socket).destroySoon());
    deps.authenticate(req, res, app, correlationId).then(
      (identity) => {
        if (!identity) return;
        res.detachSocket(socket as never);
        open(identity);
      },
      () => respondErrorOnSocket(socket, 'DB-INTERNAL', correlationId, req.headers.accept),
    );

    function open(identity: Identity | null): void {
      const a = app as App;
      const protocol = String(req.headers.upgrade ?? 'websocket');
      const headers = buildStreamHeaders({
        req,
        app: a,
        method: originalMethod(req),
        correlationId,
        identity,
        assertion: assertionFor(deps, a, identity),
        upgrade: protocol,
      });
      let clientGone = false;
      let current: http2.ClientHttp2Stream | null = null;
      socket.once('close', () => {
        clientGone = true;
        if (current && !current.closed) current.close(http2.constants.NGHTTP2_CANCEL);
      });
      // The handshake is a bodiless GET: until the backend answers it fails over like any idempotent request
      // (stream-to-group.ts); the client's bytes flow only after the 101.
      streamToGroup(
        deps.registry,
        {
          groupId: a.groupId,
          appId: a.id,
          headers,
          correlationId,
          logger,
          options: { endStream: false },
          idempotent: true,
          resendable: () => true,
          wanted: () => !clientGone && !socket.destroyed,
        },
        {
          onOpen(stream) {
            current = stream;
          },
          onFail(code) {
            respondErrorOnSocket(socket, code, correlationId, req.headers.accept);
          },
          onResponse(stream, h, tunnel) {
            const code = h[ERROR_HEADER];
            if (code !== undefined) {
              respondErrorOnSocket(socket, errorCodeOr(code, 'DB-INTERNAL'), correlationId, req.headers.accept);
              stream.close(http2.constants.NGHTTP2_CANCEL);
              return;
            }
            if (h[UPGRADE_STATUS_HEADER] !== '101') return relayDeclined(stream, h);
            logger.debug(
              { correlationId, appId: a.id, protocol, connectorId: tunnel.connectorId },
              'upgrade forwarded',
            );
            const frames = /^websocket$/i.test(protocol) ? new WebSocketFrameTracker() : null;
            socket.write(
              formatHead(101, 'Switching Protocols', {
                ...buildResponseHeaders(h, a, routes.linksOf(a.tenantId)),
                connection: 'Upgrade',
                upgrade: protocol,
              }),
            );
            if (head.length > 0) stream.write(head);
            if (frames) stream.on('data', (chunk: Buffer) => frames.feed(chunk));
            // Shared listeners, not two pipe() calls: an idle WebSocket holds little more than its sockets
            // (lib/relay.ts). The stream's end does not end the socket: its close, below, decides how.
            relayBothWays(socket, stream, { bEndsA: false });
            // Continuous access evaluation may end it (edge/cae/): close 1008 with the reason.
            deps.track?.(req, 'websocket', socket, (_code, reason) => closeForPolicy(socket, stream, frames, reason));
            stream.once('close', () => {
              if (socket.destroyed || socket.writableEnded) return;
              const clean =
                stream.readableEnded &&
                (stream.rstCode === undefined || stream.rstCode === http2.constants.NGHTTP2_NO_ERROR);
              if (clean || !frames || frames.sawClose) return void socket.end();
              if (!frames.atBoundary) return void socket.destroy();
              // The tunnel died under an open WebSocket: say so with a close frame rather than a reset.
              const goingAway = tunnel.draining || (tunnel.session.closed && !tunnel.session.destroyed);
              const closeCode = goingAway ? WS_GOING_AWAY : WS_INTERNAL_ERROR;
              logger.info(
                { correlationId, appId: a.id, connectorId: tunnel.connectorId, closeCode },
                'tunnel stream lost under a WebSocket: closing it cleanly',
              );
              stopRelay(socket, stream);
              socket.end(closeFrame(closeCode, goingAway ? 'connector going away' : 'connector lost'));
              setTimeout(() => socket.destroy(), 2_000).unref();
            });
          },
        },
      );

      /** The backend declined the upgrade: its answer goes back as a plain response, then the connection closes. */
      function relayDeclined(stream: http2.ClientHttp2Stream, h: IncomingHttpHeaders): void {
        const status = Number(h[':status']);
        socket.write(
          formatHead(status, http.STATUS_CODES[status] ?? '', {
            ...buildResponseHeaders(h, a, routes.linksOf(a.tenantId)),
            connection: 'close',
          }),
        );
        stream.pipe(socket);
        // Only a broken stream cuts the socket; a finished one ends it through the pipe.
        stream.once('close', () => {
          const clean = stream.readableEnded || stream.rstCode === http2.constants.NGHTTP2_NO_ERROR;
          if (!clean && !socket.destroyed) socket.destroy();
        });
      }
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
