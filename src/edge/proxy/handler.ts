import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import http2 from 'node:http2';
import { ERROR_HEADER, ERROR_DETAIL_HEADER, type Identity } from '../../tunnel/protocol.ts';
import type { App } from '../../store/types.ts';
import type { Logger } from '../../lib/log.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { Tunnel, TunnelRegistry } from '../tunnel/registry.ts';
import { hostKey, type RouteTable } from './routes.ts';
import { buildStreamHeaders, hasRequestBody } from './request-headers.ts';
import { buildResponseHeaders } from './response-headers.ts';
import { respondError, errorCodeOr } from './respond-error.ts';
import { originalMethod } from './custom-methods.ts';

/** Hosts the edge serves itself (sign-in, enrollment); everything else is an app host. */
export type SystemHostHandler = (req: IncomingMessage, res: ServerResponse, correlationId: string) => void | Promise<void>;

/** Pre-authentication for `preAuth: idp` apps: an identity lets the request through; null means it has answered. */
export type Authenticate = (req: IncomingMessage, res: ServerResponse, app: App, correlationId: string) => Promise<Identity | null>;

export interface ProxyDeps {
  routes: RouteTable;
  registry: TunnelRegistry;
  systemHosts: Map<string, SystemHostHandler>;
  authenticate: Authenticate | null;
  logger: Logger;
}

/** Methods retried once on another connector when the tunnel fails before any response (RFC 9110 §9.2.2). */
const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS']);
const { NGHTTP2_CANCEL } = http2.constants;

/**
 * The edge's request path, top to bottom:
 *   1. correlation id          2. system hosts (sign-in, enrollment)   3. route Host → app
 *   4. pre-authentication      5. pick a tunnel of the app's group     6. open a stream, stream the body up
 *   7. stream the response down, translating headers; fail over once if the tunnel dies before answering.
 */
export function createProxyHandler(deps: ProxyDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { routes, systemHosts, logger } = deps;

  return function handle(req, res) {
    // 1. One id ties the client's error page, the edge's and the connector's log lines together.
    const correlationId = newCorrelationId();
    const host = hostKey(req.headers.host);

    // 2. The edge's own hosts.
    const system = systemHosts.get(host);
    if (system) {
      Promise.resolve(system(req, res, correlationId)).catch((err: Error) => {
        logger.error({ correlationId, err }, 'system host handler failed');
        respondError(res, 'DB-INTERNAL', correlationId);
      });
      return;
    }

    // 3. Route by Host.
    const app = routes.lookupHost(host);
    if (!app) {
      logger.info({ correlationId, host, code: 'DB-ROUTE-UNKNOWN-HOST' }, 'no app for host');
      respondError(res, 'DB-ROUTE-UNKNOWN-HOST', correlationId);
      return;
    }
    if (!app.enabled) {
      respondError(res, 'DB-ROUTE-APP-DISABLED', correlationId);
      return;
    }

    // 4. Pre-authentication (passthrough apps skip it).
    if (app.preAuth === 'passthrough') {
      forward(req, res, app, null, correlationId);
      return;
    }
    if (!deps.authenticate) {
      respondError(res, 'DB-INTERNAL', correlationId, 'sign-in is not configured on this edge');
      return;
    }
    deps.authenticate(req, res, app, correlationId).then((identity) => {
      if (identity) forward(req, res, app, identity, correlationId);
    }, (err: Error) => {
      logger.error({ correlationId, appId: app.id, err }, 'pre-authentication failed');
      respondError(res, 'DB-INTERNAL', correlationId);
    });
  };

  function forward(req: IncomingMessage, res: ServerResponse, app: App, identity: Identity | null, correlationId: string): void {
    const method = originalMethod(req);
    const withBody = hasRequestBody(req);
    const headers = buildStreamHeaders({ req, app, method, correlationId, identity });
    let failedOnce = false;
    attempt(undefined);

    function attempt(failed: Tunnel | undefined): void {
      // 5. Pick the least busy usable tunnel of the app's group that knows the app.
      const tunnel = deps.registry.pick(app.groupId, app.id, failed);
      if (!tunnel) {
        logger.warn({ correlationId, appId: app.id, groupId: app.groupId, code: 'DB-TUNNEL-NO-CONNECTOR' }, 'no usable tunnel');
        respondError(res, failed ? 'DB-TUNNEL-STREAM-FAILED' : 'DB-TUNNEL-NO-CONNECTOR', correlationId);
        return;
      }

      // 6. One HTTP/2 stream per request; its flow control paces the body both ways.
      let stream: ClientHttp2Stream;
      try {
        stream = tunnel.session.request(headers, { endStream: !withBody });
      } catch (err) {
        tunnel.usable = false;
        logger.warn({ correlationId, tunnelId: tunnel.id, err: (err as Error).message }, 'tunnel refused a new stream');
        return retryOrFail(tunnel, false);
      }
      tunnel.inFlight++;
      let responded = false;
      let bodyStarted = false;
      stream.once('close', () => { tunnel.inFlight--; });

      if (withBody) {
        req.once('data', () => { bodyStarted = true; });
        req.pipe(stream);
      }
      res.once('close', () => {
        // The client went away: cancel only a stream that is still running.
        if (!res.writableFinished && !stream.closed) stream.close(NGHTTP2_CANCEL);
      });

      // 7. The response streams back as it arrives.
      stream.once('response', (streamHeaders: IncomingHttpHeaders) => {
        responded = true;
        const code = streamHeaders[ERROR_HEADER];
        if (code !== undefined) {
          const detail = streamHeaders[ERROR_DETAIL_HEADER];
          respondError(res, errorCodeOr(code, 'DB-INTERNAL'), correlationId, typeof detail === 'string' ? decodeURIComponent(detail) : undefined);
          stream.close(NGHTTP2_CANCEL);
          return;
        }
        res.writeHead(Number(streamHeaders[':status']), buildResponseHeaders(streamHeaders, app));
        stream.pipe(res);
      });
      stream.once('error', (err: Error) => {
        if (responded) {
          logger.info({ correlationId, err: err.message }, 'stream failed mid-response');
          res.destroy();
        }
      });
      stream.once('close', () => {
        if (responded || res.writableEnded || res.destroyed) return;
        // The tunnel died (or the connector drained) before answering.
        logger.warn({ correlationId, tunnelId: tunnel.id, connectorId: tunnel.connectorId, rstCode: stream.rstCode }, 'stream closed before response');
        retryOrFail(tunnel, bodyStarted || withBody);
      });
    }

    function retryOrFail(failed: Tunnel, sentBody: boolean): void {
      if (!sentBody && RETRYABLE.has(method) && !res.headersSent && !failedOnce) {
        failedOnce = true;
        attempt(failed);
        return;
      }
      respondError(res, 'DB-TUNNEL-STREAM-FAILED', correlationId);
    }
  }
}
