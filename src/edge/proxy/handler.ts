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
import { respondError, errorCodeOr, decodeDetail } from './respond-error.ts';
import { isForwardablePath } from '../../lib/request-target.ts';
import { originalMethod } from './custom-methods.ts';
import { pipeResumable, resumable } from './resume.ts';

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
  /** Header SSO: the edge-signed assertion for this user at this app, or null (edge/sso/assertion.ts). */
  assertion?: (app: App, identity: Identity) => string | null;
}

/** Methods retried once on another connector when the tunnel fails before any response (RFC 9110 §9.2.2). */
const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS']);
/** A stream the connector never processed (refused after its GOAWAY, or never opened) may be retried once more. */
const MAX_ATTEMPTS = 3;
/** With no usable tunnel but one that may come back (config not acknowledged yet after a move, ejected but alive). */
const WAIT_FOR_TUNNEL_MS = 2_000;
/** Set on a response that needed another connector: why the first attempt failed (for operators and tests). */
const RETRIED_HEADER = 'x-drawbridge-retried';
const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

/** Why an attempt failed before a response: `refused`/`not-opened` never reached the connector's backend. */
type FailReason = 'refused' | 'not-opened' | 'lost' | 'ejected';

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
    // Only plain paths reach apps: no `*`, no absolute-form, no dot segments climbing out of the app.
    if (!isForwardablePath(req.url ?? '')) {
      logger.info({ correlationId, appId: app.id, target: req.url, code: 'DB-HTTP-BAD-TARGET' }, 'request target refused');
      respondError(res, 'DB-HTTP-BAD-TARGET', correlationId);
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
    const headers = buildStreamHeaders({ req, app, method, correlationId, identity, assertion: assertionFor(deps, app, identity) });
    const tried = new Set<string>();
    const startedAt = performance.now();
    let attempts = 0;
    let bodyStarted = false;
    let current: ClientHttp2Stream | null = null;
    let clientGone = false;
    let retried: FailReason | null = null;
    res.once('close', () => {
      clientGone = true;
      // The client went away: cancel only a stream that is still running.
      if (current && !res.writableFinished && !current.closed) current.close(NGHTTP2_CANCEL);
    });
    if (withBody) req.once('data', () => { bodyStarted = true; });
    attempt();

    // 5. Pick the least busy usable tunnel of the app's group that knows the app, preferring a connector not yet tried.
    function attempt(): void {
      const tunnel = deps.registry.pick(app.groupId, app.id, tried);
      if (tunnel) return open(tunnel);
      if (!deps.registry.mayRecover(app.groupId, app.id)) return noTunnel();
      deps.registry.waitForTunnel(app.groupId, app.id, WAIT_FOR_TUNNEL_MS, tried).then((t) => {
        if (clientGone) return;
        const last = t ?? deps.registry.pickEjected(app.groupId, app.id);
        if (last) open(last);
        else noTunnel();
      }, () => noTunnel());
    }

    function noTunnel(): void {
      logger.warn({ correlationId, appId: app.id, groupId: app.groupId, attempts, code: 'DB-TUNNEL-NO-CONNECTOR' }, 'no usable tunnel');
      respondError(res, attempts > 0 ? 'DB-TUNNEL-STREAM-FAILED' : 'DB-TUNNEL-NO-CONNECTOR', correlationId);
    }

    // 6. One HTTP/2 stream per request; its flow control paces the body both ways.
    function open(tunnel: Tunnel): void {
      attempts++;
      tried.add(tunnel.connectorId);
      let stream: ClientHttp2Stream;
      try {
        stream = tunnel.session.request(headers, { endStream: !withBody });
      } catch (err) {
        if (tunnel.session.closed || tunnel.session.destroyed) tunnel.usable = false;
        logger.warn({ correlationId, tunnelId: tunnel.id, err: (err as Error).message }, 'tunnel refused a new stream');
        return failed(tunnel, 'not-opened');
      }
      current = stream;
      deps.registry.opened(tunnel);
      const configAtPick = tunnel.configVersion;
      let responded = false;
      let settled = false;
      /** The response went to pipeResumable, which owns the rest of it. */
      let handedOff = false;
      // Ejection (a stalled connector) fails over streams still waiting for their response headers.
      const onEject = (): void => {
        if (responded || settled) return;
        settled = true;
        if (withBody) req.unpipe(stream);
        stream.close(NGHTTP2_CANCEL);
        failed(tunnel, 'ejected');
      };
      tunnel.awaiting.add(onEject);
      stream.once('close', () => {
        tunnel.inFlight--;
        tunnel.awaiting.delete(onEject);
      });
      if (withBody) req.pipe(stream);

      // 7. The response streams back as it arrives.
      stream.once('response', (streamHeaders: IncomingHttpHeaders) => {
        if (settled) return;
        tunnel.awaiting.delete(onEject);
        tunnel.health.streamSucceeded();
        const code = streamHeaders[ERROR_HEADER];
        if (code === 'DB-CONNECTOR-TARGET-REFUSED') {
          // The connector applied a config without this app (the app or the connector just moved) before the edge
          // saw its ack. The request reached no backend, so it goes to a connector that has the app; this tunnel is
          // passed over for the app until its next ack says otherwise.
          if (tunnel.configVersion === configAtPick) tunnel.apps.delete(app.id);
          settled = true;
          stream.close(NGHTTP2_CANCEL);
          if (withBody) req.unpipe(stream);
          failed(tunnel, 'refused');
          return;
        }
        responded = true;
        if (code !== undefined) {
          const detail = streamHeaders[ERROR_DETAIL_HEADER];
          respondError(res, errorCodeOr(code, 'DB-INTERNAL'), correlationId, decodeDetail(detail));
          stream.close(NGHTTP2_CANCEL);
          return;
        }
        const out = buildResponseHeaders(streamHeaders, app);
        if (retried !== null) out[RETRIED_HEADER] = retried;
        const status = Number(streamHeaders[':status']);
        res.writeHead(status, out);
        const whole = resumable(method, req.headers, status, streamHeaders);
        if (whole) {
          // A long download survives its connector: the rest comes from another one (resume.ts).
          handedOff = true;
          pipeResumable(stream, tunnel, whole, { registry: deps.registry, logger, correlationId, groupId: app.groupId, appId: app.id, headers, res, tried });
        } else {
          stream.pipe(res);
        }
      });
      stream.once('error', (err: Error) => {
        if (handedOff) return;
        if (responded) {
          logger.info({ correlationId, err: err.message }, 'stream failed mid-response');
          res.destroy();
        }
      });
      stream.once('close', () => {
        if (handedOff) return;
        // Cut mid-response (tunnel lost, drain deadline): end the client's response now rather than leave it hanging.
        if (responded && !stream.readableEnded && !res.writableEnded) return void res.destroy();
        if (responded || settled || res.writableEnded || res.destroyed) return;
        settled = true;
        if (withBody) req.unpipe(stream);
        // The tunnel died, or the connector drained, before answering.
        const refused = stream.rstCode === NGHTTP2_REFUSED_STREAM;
        if (!refused && !tunnel.session.closed && !tunnel.session.destroyed) tunnel.health.streamFailed();
        failed(tunnel, refused ? 'refused' : 'lost');
      });
    }

    /** Retry on another connector when that is safe (idempotent or never processed, no body byte sent), else 502. */
    function failed(tunnel: Tunnel, reason: FailReason): void {
      if (clientGone) return;
      const neverReached = reason === 'refused' || reason === 'not-opened';
      const retry = !bodyStarted && !res.headersSent && attempts < MAX_ATTEMPTS
        && (neverReached || (retryable(app, method) && attempts < 2));
      const detail = { correlationId, method, appId: app.id, tunnelId: tunnel.id, connectorId: tunnel.connectorId, reason, attempts, bodyStarted, elapsedMs: Math.round(performance.now() - startedAt) };
      if (retry) {
        retried = reason;
        logger.warn(detail, 'stream failed before a response: retrying on another connector');
        attempt();
        return;
      }
      logger.warn({ ...detail, code: 'DB-TUNNEL-STREAM-FAILED' }, 'stream failed before a response: not retried');
      respondError(res, 'DB-TUNNEL-STREAM-FAILED', correlationId);
    }
  }
}

/** Idempotent methods a failed stream may be replayed for: always GET/HEAD/OPTIONS; PUT/DELETE where the app opts in. */
function retryable(app: App, method: string): boolean {
  return RETRYABLE.has(method) || (app.retryWrites && (method === 'PUT' || method === 'DELETE'));
}

/** The edge-signed SSO assertion for this user at this app, when the app asks for one (edge/sso/assertion.ts). */
export function assertionFor(deps: ProxyDeps, app: App, identity: Identity | null): string | null {
  return identity && deps.assertion ? deps.assertion(app, identity) : null;
}
