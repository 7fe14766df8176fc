import http2, { type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { Readable, Writable } from 'node:stream';
import {
  APP_HEADER,
  BODY_END_TRAILER,
  REQUEST_ID_HEADER,
  IDENTITY_HEADER,
  UPGRADE_HEADER,
  TCP_HEADER,
  ERROR_HEADER,
  TRACE_RECORD_HEADER,
  ERROR_DETAIL_HEADER,
  decodeIdentity,
  type ConnectorAppConfig,
  type Identity,
} from '../../tunnel/protocol.ts';
import { catalogue, type ErrorCode } from '../../errors/catalogue.ts';
import { withoutHopByHop } from '../../lib/http-headers.ts';
import type { Logger } from '../../lib/log.ts';
import type { AppConfigTable } from './app-config.ts';
import { backendPath, backendTarget, type BackendPools } from './backend-pool.ts';
import { backendErrorCode } from './backend-errors.ts';
import { forwardUpgrade } from './upgrade.ts';
import { forwardRdp } from './rdp.ts';
import { RDP_TARGET_HEADER, rdpTarget } from '../../tunnel/rdp.ts';
import { forwardTcp } from './tcp.ts';
import { isTcpUrl } from '../../lib/tcp-target.ts';
import { isForwardablePath } from '../../lib/request-target.ts';
import { clientKey } from '../../lib/client-address.ts';
import { continueTrace, formatTraceparent, type SpanSink } from '../../lib/trace-context.ts';

/**
 * Single sign-on to the backend (connector/sso): extra request headers for this user (Negotiate, identity headers…),
 * client headers to remove first, and an optional check of the backend's response head (mutual authentication, a 401
 * that asks for a retry with a fresh ticket, an NTLM-only backend). `retry` is true on the one retry.
 */
export type SsoProvider = (
  app: ConnectorAppConfig,
  identity: Identity | null,
  correlationId: string,
  context: SsoContext,
) => Promise<SsoResult>;

export interface SsoContext {
  retry: boolean;
  /** The stream's headers as the edge sent them (the edge-minted assertion travels here). */
  requestHeaders: IncomingHttpHeaders;
}

export interface SsoResult {
  headers: Record<string, string>;
  /** Lower-case names of client request headers to drop before `headers` are added (client copies of identity headers). */
  strip?: readonly string[];
  /** Called with the backend's status and headers before anything is sent back; no body is read or buffered. */
  onResponse?(
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    canRetry: boolean,
  ): SsoVerdict;
}

/** `pass`: stream the response; `retry`: discard it and redo SSO once (bodiless requests only); `fail`: answer with a code. */
export type SsoVerdict =
  | { action: 'pass' }
  | { action: 'retry' }
  | { action: 'fail'; code: ErrorCode; detail?: string };

const NO_SSO: SsoResult = { headers: {} };

export interface ForwarderDeps {
  apps: AppConfigTable;
  pools: BackendPools;
  logger: Logger;
  sso?: SsoProvider;
  /** Counts each request by app id and outcome (`forwarded`, `refused`, or a catalogue code). */
  count?(appId: string, outcome: string): void;
  /** Where this hop's spans go when the edge records the request's trace (x-drawbridge-trace); none: not recorded. */
  spans?: SpanSink | null;
}

/** Long-lived RD Gateway channels send data sporadically: no idle timeout on their bodies. */
const LONG_LIVED_METHODS = new Set(['RDG_IN_DATA', 'RDG_OUT_DATA']);

const fromEdge = (name: string): boolean => name.startsWith('x-drawbridge-');
/** The edge cancelled; nothing to report. A shared function: a closure here would keep this request's scope (its
 * headers, app, SSO state) alive as long as the stream, hours for a WebSocket. */
const ignoreCancel = (): void => {};

/**
 * One tunnel stream → one backend request:
 *   1. check the target is an app published on this connector's group (never an open proxy)
 *   2. single sign-on headers   3. stream the request to the backend over a pooled connection
 *   4. stream the response back; failures become catalogue codes the edge renders.
 */
export function createForwarder(
  deps: ForwarderDeps,
): (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void {
  const { apps, pools, logger } = deps;
  const count = deps.count ?? (() => {});

  return function forward(stream, headers) {
    const correlationId = String(headers[REQUEST_ID_HEADER] ?? '');
    const appId = String(headers[APP_HEADER] ?? '');
    const path = String(headers[':path'] ?? '');
    const method = String(headers[':method'] ?? 'GET');
    stream.on('error', ignoreCancel);

    // 1. The target must be an app this connector's group publishes, and the path must be origin-form.
    const app = apps.get(appId);
    if (!app) {
      logger.warn(
        { correlationId, appId, path, groupId: apps.groupId, code: 'DB-CONNECTOR-TARGET-REFUSED' },
        "refused a target outside this connector's apps",
      );
      count(appId, 'refused');
      return refuse(
        stream,
        'DB-CONNECTOR-TARGET-REFUSED',
        `app ${appId || '(none)'} is not published on this connector group`,
      );
    }
    // A TCP channel goes to the app's own tcp://host:port only; an HTTP request never reaches a TCP app, nor a TCP
    // channel an HTTP one.
    const tcp = headers[TCP_HEADER];
    if (typeof tcp === 'string' || isTcpUrl(app.internalUrl)) {
      count(app.id, typeof tcp === 'string' ? 'forwarded' : 'refused');
      if (typeof tcp !== 'string') return refuse(stream, 'DB-TCP-NOT-TCP-APP');
      return forwardTcp({ stream, app, requested: tcp, correlationId, logger, refuse });
    }
    if (!isForwardablePath(path)) {
      logger.warn({ correlationId, appId, path, code: 'DB-HTTP-BAD-TARGET' }, 'refused a path outside the app');
      count(appId, 'refused');
      return refuse(stream, 'DB-HTTP-BAD-TARGET');
    }
    // Apps of kind rdp take RD Gateway channels only (the edge's gateway marks them), and only to their own target.
    const rdp = headers[RDP_TARGET_HEADER];
    if (typeof rdp === 'string' || rdpTarget(app.internalUrl)) {
      if (typeof rdp !== 'string' || !rdpTarget(app.internalUrl)) {
        count(appId, 'refused');
        return refuse(
          stream,
          'DB-CONNECTOR-TARGET-REFUSED',
          'RD Gateway channels go to apps of kind rdp only, and nothing else does',
        );
      }
      count(app.id, 'forwarded');
      return forwardRdp({ stream, app, requested: rdp, correlationId, logger, refuse });
    }
    count(app.id, 'forwarded');
    // W3C trace context: the backend sees the edge's trace with this connector's span as its parent.
    const trace = continueTrace(headers.traceparent, false);
    const traceparent = formatTraceparent(trace);
    if (deps.spans && headers[TRACE_RECORD_HEADER] === '1')
      recordSpan(deps.spans, stream, trace, method, app.id, correlationId);

    // 2. SSO headers, then the backend request.
    const proceed = (result: SsoResult, retry: boolean): void => {
      const backendHeaders = withoutHopByHop(headers, fromEdge);
      if (result.strip) for (const name of result.strip) delete backendHeaders[name];
      backendHeaders.host = backendTarget(app.internalUrl).host;
      backendHeaders.traceparent = traceparent;
      Object.assign(backendHeaders, result.headers);
      const upgrade = headers[UPGRADE_HEADER];
      if (typeof upgrade === 'string') {
        return forwardUpgrade({
          stream,
          app,
          pools,
          path: backendPath(app.internalUrl, path),
          method,
          headers: backendHeaders,
          protocol: upgrade,
          correlationId,
          logger,
          refuse,
        });
      }
      return send(
        stream,
        app,
        method,
        path,
        backendHeaders,
        correlationId,
        result.onResponse && {
          check: result.onResponse,
          canRetry: !retry && stream.endAfterHeaders,
          retry: () => attempt(true),
        },
      );
    };
    // Apps without single sign-on (most requests) skip decoding the user, the promise and its microtasks.
    const withSso = deps.sso !== undefined && app.sso !== undefined && app.sso !== null && app.sso.mode !== 'none';
    const identity =
      withSso && typeof headers[IDENTITY_HEADER] === 'string' ? decodeIdentity(headers[IDENTITY_HEADER]) : null;
    const attempt = (retry: boolean): void => {
      deps.sso!(app, identity, correlationId, { retry, requestHeaders: headers }).then(
        (result) => proceed(result, retry),
        (err: Error & { code?: string }) => {
          const code = (err.code && Object.hasOwn(catalogue, err.code) ? err.code : 'DB-INTERNAL') as ErrorCode;
          logger.warn({ correlationId, appId, code, err: err.message }, 'single sign-on failed');
          refuse(stream, code, err.message);
        },
      );
    };
    if (withSso) attempt(false);
    else proceed(NO_SSO, false);
  };

  function send(
    stream: ServerHttp2Stream,
    app: ConnectorAppConfig,
    method: string,
    path: string,
    headers: Record<string, unknown>,
    correlationId: string,
    sso?: SsoCheck,
  ): void {
    // One client holds at most its share of the backend's connections (backend-pool.ts); the edge set the address.
    const forwardedFor = String(headers['x-forwarded-for'] ?? '');
    const client = clientKey(forwardedFor.slice(forwardedFor.lastIndexOf(',') + 1).trim());
    const release = pools.claim(app, client);
    if (release) return sendWithSlot(stream, app, method, path, headers, correlationId, release, sso);
    // Over its share: wait for one of its own slots (in order), or be refused when too many already wait.
    const gone = new AbortController();
    stream.once('close', () => gone.abort());
    void pools.wait(app, client, gone.signal).then((slot) => {
      if (slot && !stream.destroyed) return sendWithSlot(stream, app, method, path, headers, correlationId, slot, sso);
      slot?.();
      if (stream.destroyed) return;
      logger.info(
        { correlationId, appId: app.id, client, code: 'DB-BACKEND-CLIENT-SHARE' },
        'client holds its share of the backend and has too many requests waiting: refused',
      );
      refuse(stream, 'DB-BACKEND-CLIENT-SHARE');
    });
  }

  function sendWithSlot(
    stream: ServerHttp2Stream,
    app: ConnectorAppConfig,
    method: string,
    path: string,
    headers: Record<string, unknown>,
    correlationId: string,
    release: () => void,
    sso?: SsoCheck,
  ): void {
    const timeoutMs = app.backendTimeout * 1000;
    let retrying = false;
    const abort = new AbortController();
    stream.once('close', () => {
      if (!stream.writableFinished) abort.abort();
    });

    // 3 + 4. undici streams the h2 request stream up and writes the response into the same h2 stream. Its callback
    // form: the promise form costs a promise, its handlers and microtask hops on every request.
    pools.for(app).stream(
      {
        path: backendPath(app.internalUrl, path),
        method: method as 'GET',
        headers: headers as Record<string, string>,
        body: stream.endAfterHeaders ? null : readableSide(stream, headers as IncomingHttpHeaders),
        headersTimeout: timeoutMs,
        bodyTimeout: LONG_LIVED_METHODS.has(method) ? 0 : timeoutMs,
        signal: abort.signal,
      },
      ({ statusCode, headers: responseHeaders }): Writable => {
        if (stream.destroyed) return stream;
        if (sso) {
          // SSO looks at the response head only: a refused or retried response's (small) body is discarded unread.
          const verdict = sso.check(statusCode, responseHeaders, sso.canRetry);
          if (verdict.action === 'retry' && sso.canRetry) {
            retrying = true;
            return discard();
          }
          if (verdict.action !== 'pass') {
            const fail =
              verdict.action === 'fail' ? verdict : { code: 'DB-KCD-BACKEND-REJECTED' as const, detail: undefined };
            refuse(stream, fail.code, fail.detail);
            return discard();
          }
        }
        // A backend cannot speak for the connector: our own x-drawbridge-* names are dropped from its headers.
        const out = withoutHopByHop(responseHeaders as Record<string, string>, fromEdge);
        out[':status'] = statusCode;
        stream.respond(out);
        return stream;
      },
      (err: NodeJS.ErrnoException | null) => {
        try {
          if (err === null) {
            if (retrying && !stream.destroyed) sso?.retry();
          } else if (!abort.signal.aborted) failedBackend(stream, app, correlationId, err); // else: the edge cancelled
        } finally {
          release();
        }
      },
    );
  }

  function failedBackend(
    stream: ServerHttp2Stream,
    app: ConnectorAppConfig,
    correlationId: string,
    err: NodeJS.ErrnoException,
  ): void {
    const code = backendErrorCode(err);
    logger.warn({ correlationId, appId: app.id, code, err: err.message, errCode: err.code }, 'backend request failed');
    if (!stream.headersSent)
      refuse(stream, code, code === 'DB-BACKEND-TIMEOUT' ? `no answer within ${app.backendTimeout} s` : undefined);
    else if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  }
}

/** The connector's span of a recorded trace: from the stream's arrival to its close. */
function recordSpan(
  spans: SpanSink,
  stream: ServerHttp2Stream,
  trace: ReturnType<typeof continueTrace>,
  method: string,
  appId: string,
  correlationId: string,
): void {
  const startMs = performance.now();
  stream.once('close', () => {
    const status = stream.headersSent ? Number(stream.sentHeaders[':status'] ?? 0) : 0;
    spans.end({
      name: `${method} ${appId}`,
      kind: 'client',
      traceId: trace.traceId,
      spanId: trace.spanId,
      parentSpanId: trace.parentSpanId,
      startMs,
      endMs: performance.now(),
      error: status === 0 || status >= 500,
      attributes: {
        'http.request.method': method,
        'http.response.status_code': status,
        'drawbridge.app': appId,
        correlationId,
      },
    });
  });
}

interface SsoCheck {
  check: NonNullable<SsoResult['onResponse']>;
  canRetry: boolean;
  retry(): void;
}

function discard(): Writable {
  return new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

/** Answers the stream with a Drawbridge error; the edge turns it into the catalogue page. */
export function refuse(stream: ServerHttp2Stream, code: ErrorCode, detail?: string): void {
  if (stream.destroyed || stream.headersSent) return;
  const headers: Record<string, string | number> = { ':status': catalogue[code].status, [ERROR_HEADER]: code };
  if (detail) headers[ERROR_DETAIL_HEADER] = encodeURIComponent(detail);
  stream.respond(headers, { endStream: true });
  // Unread request body: tell the edge to stop sending it.
  if (!stream.readableEnded) stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

/**
 * The request body as its own Readable: undici destroys a body stream once written, and destroying the HTTP/2
 * stream itself would also kill the response travelling back on it.
 */
function readableSide(stream: ServerHttp2Stream, requestHeaders: IncomingHttpHeaders): Readable {
  const body = new Readable({
    read() {
      stream.resume();
    },
  });
  stream.on('data', (chunk: Buffer) => {
    if (!body.push(chunk)) stream.pause();
  });
  // A body of unknown length is finished only by the edge's end trailer: Node ends the readable side on RST_STREAM
  // too, so 'end' alone could pass a body the client never finished to the backend as a finished one.
  const needsEndTrailer = requestHeaders['content-length'] === undefined;
  let endTrailer = false;
  stream.once('trailers', (trailers: IncomingHttpHeaders) => {
    endTrailer = trailers[BODY_END_TRAILER] === '1';
  });
  stream.once('end', () => {
    if (!needsEndTrailer || endTrailer) body.push(null);
    else body.destroy(new Error('request aborted by the edge'));
  });
  stream.once('aborted', () => body.destroy(new Error('request aborted by the edge')));
  return body;
}
