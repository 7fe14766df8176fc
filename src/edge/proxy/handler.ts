import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClientHttp2Stream, IncomingHttpHeaders } from 'node:http2';
import http2 from 'node:http2';
import { BODY_END_TRAILER, ERROR_HEADER, ERROR_DETAIL_HEADER, type Identity } from '../../tunnel/protocol.ts';
import type { App } from '../../store/types.ts';
import type { Logger } from '../../lib/log.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { TunnelRegistry } from '../tunnel/registry.ts';
import { streamToGroup } from './stream-to-group.ts';
import { ReplayableBody } from './replayable-body.ts';
import { requestHeadProblem } from './request-hygiene.ts';
import { hostKey, type RouteTable } from './routes.ts';
import { buildStreamHeaders, hasRequestBody } from './request-headers.ts';
import { buildResponseHeaders } from './response-headers.ts';
import { respondError, errorCodeOr, decodeDetail } from './respond-error.ts';
import { isForwardablePath } from '../../lib/request-target.ts';
import { originalMethod } from '../../lib/http1/extension-methods.ts';
import { bindUpstream, isAborted } from './request-abort.ts';
import { limitBodyIdle } from '../listen/body-idle.ts';
import { pipeResumable, resumable } from './resume.ts';
import type { TrackLongLived } from '../cae/continuous-access.ts';
import { bodyTranslation, createBodyTranslator, translatedBodyHeaders } from './link-translation.ts';
import { hstsHeader } from '../../store/app-web.ts';
import { EdgeMetrics } from '../metrics.ts';
import { traceRequest, type EdgeTracing } from './tracing.ts';
import { isGatewayRequest, isRdpApp, serveRdpAppHost, type RdgDeps } from '../rdg/server.ts';
import { handleLegacyGateway } from '../rdg/legacy.ts';
import { isTcpUrl } from '../../lib/tcp-target.ts';
import type { AuthorizeChannel } from './tcp-channel.ts';

/** Hosts the edge serves itself (sign-in, enrollment); everything else is an app host. */
export type SystemHostHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  correlationId: string,
) => void | Promise<void>;

/** Pre-authentication for `preAuth: idp` apps: an identity lets the request through; null means it has answered. */
export type Authenticate = (
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  correlationId: string,
) => Promise<Identity | null>;

export interface ProxyDeps {
  /** Most header fields a client may send (limits.maxHeaderCount); the tunnel carries more, so it never refuses. */
  maxHeaderCount: number;
  routes: RouteTable;
  registry: TunnelRegistry;
  systemHosts: Map<string, SystemHostHandler>;
  authenticate: Authenticate | null;
  logger: Logger;
  /** Header SSO: the edge-signed assertion for this user at this app, or null (edge/sso/assertion.ts). */
  assertion?: (app: App, identity: Identity) => string | null;
  /** Continuous access evaluation: registers a signed-in request's connection with how to end it (edge/cae/). */
  track?: TrackLongLived | null;
  /** W3C trace context and span records (proxy/tracing.ts); absent: the client's traceparent passes untouched. */
  tracing?: EdgeTracing;
  /** The built-in RD Gateway for apps of kind `rdp` (edge/rdg/): absent, such apps answer nothing but errors. */
  rdg?: RdgDeps | null;
  /** TCP apps: checks a channel's bearer token and access (edge/signin/tcp-access.ts). */
  authorizeChannel?: AuthorizeChannel | null;
  /** TCP apps: the command line's sign-in on the app's host (edge/signin/cli-login.ts, cli-device.ts). */
  cliLogin?: CliLogin | null;
}

export interface CliLogin {
  /** Requests answered without a session (a device code's start and polls); true when answered. */
  beforeAuth(req: IncomingMessage, res: ServerResponse, app: App, correlationId: string): boolean;
  /** A request that passed pre-authentication. */
  signedIn(req: IncomingMessage, res: ServerResponse, app: App, identity: Identity, correlationId: string): void;
}

/** Methods retried once on another connector when the tunnel fails before any response (RFC 9110 §9.2.2). */
const RETRYABLE = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Set on a response that needed another connector: why the first attempt failed (for operators and tests). */
const RETRIED_HEADER = 'x-drawbridge-retried';
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
    const problem = requestHeadProblem(req, deps.maxHeaderCount);
    if (problem) return respondError(res, problem, correlationId);
    // The edge answers Expect itself (RFC 9110 §10.1.1) and never forwards it: 100 once the request may proceed.
    const expect = req.headers.expect;
    if (expect !== undefined && expect.toLowerCase() !== '100-continue')
      return respondError(res, 'DB-HTTP-EXPECTATION-FAILED', correlationId);
    const host = hostKey(req.headers.host);

    // 2. The edge's own hosts.
    const system = systemHosts.get(host);
    if (system) {
      if (expect !== undefined) res.writeContinue();
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
    EdgeMetrics.markApp(res, app.id); // the request counter's app label (edge/metrics.ts)
    // HSTS on every answer of an app host that enables it: its error pages and sign-in redirects too.
    const hsts = hstsHeader(app.hsts);
    if (hsts !== null) res.setHeader('strict-transport-security', hsts);
    if (!app.enabled) {
      respondError(res, 'DB-ROUTE-APP-DISABLED', correlationId);
      return;
    }
    // A TCP app is reached by an upgrade to a TCP channel (tcp-channel.ts); over plain HTTP its host serves only the
    // command line's browser sign-in, behind the usual pre-authentication.
    if (isTcpUrl(app.internalUrl)) {
      if (!deps.authenticate || !deps.cliLogin) return respondError(res, 'DB-TCP-NOT-TCP-APP', correlationId);
      const login = deps.cliLogin;
      if (login.beforeAuth(req, res, app, correlationId)) return;
      deps.authenticate(req, res, app, correlationId).then(
        (identity) => {
          if (identity) login.signedIn(req, res, app, identity, correlationId);
        },
        (err: Error) => {
          logger.error({ correlationId, err }, 'pre-authentication failed');
          respondError(res, 'DB-INTERNAL', correlationId);
        },
      );
      return;
    }
    // Only plain paths reach apps: no `*`, no absolute-form, no dot segments climbing out of the app.
    if (!isForwardablePath(req.url ?? '')) {
      logger.info(
        { correlationId, appId: app.id, target: req.url, code: 'DB-HTTP-BAD-TARGET' },
        'request target refused',
      );
      respondError(res, 'DB-HTTP-BAD-TARGET', correlationId);
      return;
    }

    // Apps of kind rdp: the edge is their RD Gateway (edge/rdg/). The gateway endpoint speaks only its WebSocket
    // transport (upgrade.ts); every other request is the signed-in user's connection page or file.
    if (isRdpApp(app)) {
      const method = originalMethod(req);
      if (deps.rdg && isGatewayRequest(req) && (method === 'RDG_OUT_DATA' || method === 'RDG_IN_DATA')) {
        handleLegacyGateway(deps.rdg, req, res, app, method, correlationId);
        return;
      }
      if (!deps.rdg || isGatewayRequest(req) || app.preAuth === 'passthrough' || !deps.authenticate) {
        respondError(
          res,
          'DB-HTTP-METHOD-NOT-SUPPORTED',
          correlationId,
          'the RD Gateway endpoint takes RDG_OUT_DATA and RDG_IN_DATA only',
        );
        return;
      }
      const rdg = deps.rdg;
      deps.authenticate(req, res, app, correlationId).then(
        (identity) => {
          if (identity) serveRdpAppHost(rdg, req, res, app, identity);
        },
        (err: Error) => {
          logger.error({ correlationId, appId: app.id, err }, 'pre-authentication failed');
          respondError(res, 'DB-INTERNAL', correlationId);
        },
      );
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
    deps.authenticate(req, res, app, correlationId).then(
      (identity) => {
        if (identity) forward(req, res, app, identity, correlationId);
      },
      (err: Error) => {
        logger.error({ correlationId, appId: app.id, err }, 'pre-authentication failed');
        respondError(res, 'DB-INTERNAL', correlationId);
      },
    );
  };

  function forward(
    req: IncomingMessage,
    res: ServerResponse,
    app: App,
    identity: Identity | null,
    correlationId: string,
  ): void {
    const method = originalMethod(req);
    limitBodyIdle(req, res, method); // a stalled request body is aborted (edge/listen/body-idle.ts)
    const withBody = hasRequestBody(req);
    const headers = buildStreamHeaders({
      req,
      app,
      method,
      correlationId,
      identity,
      assertion: assertionFor(deps, app, identity),
    });
    if (deps.tracing) traceRequest(deps.tracing, req, res, app, method, headers, correlationId);
    // Judged by what the connector receives, never by the client's head: a Content-Length named in Connection is
    // dropped from the stream, and the connector then needs the end trailer like for any body of unknown length.
    const unknownLength = headers['content-length'] === undefined;
    const tried = new Set<string>();
    // A small body is kept while no response has come, so a refused stream can be sent again (replayable-body.ts).
    const body = withBody ? new ReplayableBody(req) : null;
    let current: ClientHttp2Stream | null = null;
    let clientGone = false;
    res.once('close', () => {
      clientGone = true;
      body?.release();
      // The client went away: cancel only a stream that is still running.
      if (current && !res.writableFinished && !current.closed) current.close(NGHTTP2_CANCEL);
    });
    // Until it finishes, continuous access evaluation may abort it (streaming responses, RD Gateway channels).
    if (identity)
      deps.track?.(req, 'stream', res, () => {
        if (current && !current.closed) current.close(NGHTTP2_CANCEL);
        res.destroy();
      });
    // Pre-authentication has passed: a client holding its body for 100 Continue may send it now.
    if (req.headers.expect !== undefined) res.writeContinue();

    // 5 + 6. A stream to the app's connector group (stream-to-group.ts); its flow control paces the body both ways.
    streamToGroup(
      deps.registry,
      {
        groupId: app.groupId,
        appId: app.id,
        headers,
        correlationId,
        logger,
        tried,
        options: { endStream: !withBody, waitForTrailers: withBody && unknownLength },
        idempotent: retryable(app, method),
        resendable: () => (body === null || body.resendable) && !res.headersSent,
        wanted: () => !clientGone && !isAborted(req) && !res.writableEnded,
      },
      {
        onOpen(stream) {
          current = stream;
          if (body === null) return;
          bindUpstream(req, stream);
          // The connector finishes a body of unknown length only on this trailer (tunnel/protocol.ts BODY_END_TRAILER).
          if (unknownLength) stream.once('wantTrailers', () => stream.sendTrailers({ [BODY_END_TRAILER]: '1' }));
          body.attach(stream);
        },
        onAbandon(stream) {
          body?.detach(stream);
        },
        onFail(code) {
          respondError(res, code, correlationId);
        },
        // 7. The response streams back as it arrives.
        onResponse(stream, streamHeaders, tunnel, retried) {
          body?.release();
          const code = streamHeaders[ERROR_HEADER];
          if (code !== undefined) {
            const detail = streamHeaders[ERROR_DETAIL_HEADER];
            respondError(res, errorCodeOr(code, 'DB-INTERNAL'), correlationId, decodeDetail(detail));
            stream.close(NGHTTP2_CANCEL);
            return;
          }
          const links = routes.linksOf(app.tenantId);
          const out = buildResponseHeaders(streamHeaders, app, links);
          if (retried !== null) out[RETRIED_HEADER] = retried;
          const status = Number(streamHeaders[':status']);
          // Link translation in the body (link-translation.ts): never resumed, since its bytes are not the backend's.
          const coding = app.linkTranslation.body && !links.empty ? bodyTranslation(streamHeaders, status) : null;
          if (coding !== null) translatedBodyHeaders(out);
          res.writeHead(status, out);
          const whole = coding === null ? resumable(method, req.headers, status, streamHeaders) : null;
          if (whole) {
            // A long download survives its connector: the rest comes from another one (resume.ts).
            pipeResumable(stream, tunnel, whole, {
              registry: deps.registry,
              logger,
              correlationId,
              groupId: app.groupId,
              appId: app.id,
              headers,
              res,
              tried,
            });
            return;
          }
          if (coding !== null && method !== 'HEAD') {
            const steps = createBodyTranslator(links, coding);
            for (const step of steps) {
              step.once('error', (err: Error) => {
                logger.info(
                  { correlationId, appId: app.id, err: err.message },
                  'link translation failed mid-body (a body not in its declared coding?)',
                );
                res.destroy();
                if (!stream.closed) stream.close(NGHTTP2_CANCEL);
              });
            }
            res.once('close', () => {
              for (const step of steps) if (!step.destroyed) step.destroy();
            });
            steps.reduce<NodeJS.ReadableStream>((from, step) => from.pipe(step), stream).pipe(res);
          } else {
            stream.pipe(res);
          }
          stream.once('error', (err: Error) => {
            logger.info({ correlationId, err: err.message }, 'stream failed mid-response');
            res.destroy();
          });
          // Cut mid-response (tunnel lost, drain deadline): end the client's response now rather than leave it hanging.
          stream.once('close', () => {
            if (!stream.readableEnded && !res.writableEnded) res.destroy();
          });
        },
      },
    );
  }
}

/** Idempotent methods a failed stream may be replayed for: always GET/HEAD/OPTIONS; PUT/DELETE where the app opts in. */
export function retryable(app: App, method: string): boolean {
  return RETRYABLE.has(method) || (app.retryWrites && (method === 'PUT' || method === 'DELETE'));
}

/** The edge-signed SSO assertion for this user at this app, when the app asks for one (edge/sso/assertion.ts). */
export function assertionFor(deps: ProxyDeps, app: App, identity: Identity | null): string | null {
  return identity && deps.assertion ? deps.assertion(app, identity) : null;
}
