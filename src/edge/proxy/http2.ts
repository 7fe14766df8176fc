import http2 from 'node:http2';
import type {
  Http2SecureServer,
  Http2ServerRequest,
  Http2ServerResponse,
  SecureServerOptions,
  ServerHttp2Session,
} from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/log.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import { clientAddress } from '../listen/client-address.ts';
import { respondError } from './respond-error.ts';
import { releaseWhenClosed } from '../../lib/release-closed-stream.ts';

/** Streams one client session may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; nghttp2 refuses more). */
export const MAX_CONCURRENT_STREAMS = 100;
/**
 * Rapid reset (CVE-2023-44487): a client that opens streams and resets them at once makes the edge start work (a
 * tunnel stream, a sign-in redirect) that the stream limit never sees. Client resets are paid from a bucket of this
 * many, refilled at RESET_REFILL_PER_S; an empty bucket ends the session with GOAWAY(ENHANCE_YOUR_CALM). A browser
 * leaving a page cancels its pending requests, well within the burst.
 */
const RESET_BURST = 100;
const RESET_REFILL_PER_S = 20;
const { NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

export interface EdgeHttp2Options {
  /** TLS: certificates by SNI, the TLS profile, the handshake timeout. */
  tls: SecureServerOptions;
  /** The request path shared with HTTP/1.1 (the compat request and response stand in for Node's HTTP/1 pair). */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** limits.maxHeaderBytes and limits.maxHeaderCount: the same limits and the same 431 as on HTTP/1.1. */
  maxHeaderBytes: number;
  maxHeaderCount: number;
  /** A session without open streams for this long is closed with GOAWAY (limits.keepAliveTimeoutMs). */
  idleTimeoutMs: number;
  logger: Logger;
}

export interface EdgeHttp2 {
  server: Http2SecureServer;
  /** Drain: GOAWAY to every session; streams in flight finish. */
  closeIdleSessions(): void;
  /** Drain deadline: every session ends now. */
  closeAllSessions(): void;
}

/**
 * The public port's HTTP/2 (clients that offer ALPN h2; edge.ts routes them by their ClientHello). nghttp2 applies
 * RFC 9113's message rules (pseudo-headers, lowercase names, no connection-specific fields, Content-Length against
 * DATA) and bounds CONTINUATION frames; on top of that this front gives HTTP/2 requests what the HTTP/1.1 front
 * gives its own: Host from :authority, the same header limits with the same catalogue codes, a stream limit, a
 * rapid-reset guard and an idle timeout. The request path itself is shared (proxy/handler.ts).
 */
export function serveEdgeHttp2(options: EdgeHttp2Options): EdgeHttp2 {
  const { logger } = options;
  const server = http2.createSecureServer({
    ...options.tls,
    ALPNProtocols: ['h2'],
    allowHTTP1: false,
    // Hard limits, above the edge's own, so a request between the two gets the 431 page rather than a reset stream.
    maxHeaderListPairs: 2 * options.maxHeaderCount + 8,
    settings: {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      maxHeaderListSize: 2 * options.maxHeaderBytes,
      enablePush: false,
    },
  });
  const sessions = new Set<ServerHttp2Session>();

  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => {});
    let open = 0;
    let tokens = RESET_BURST;
    let refilled = Date.now();
    let flooded = false;
    session.on('stream', (stream) => {
      open++;
      stream.once('close', () => {
        open--;
      });
      releaseWhenClosed(stream);
      // 'aborted': the client reset a stream before its response was complete.
      stream.once('aborted', () => {
        const now = Date.now();
        tokens = Math.min(RESET_BURST, tokens + ((now - refilled) / 1000) * RESET_REFILL_PER_S);
        refilled = now;
        if (--tokens >= 0 || flooded || session.destroyed) return;
        flooded = true;
        logger.warn(
          {
            code: 'DB-HTTP-RESET-FLOOD',
            remote: clientAddress(session.socket),
            burst: RESET_BURST,
            perSecond: RESET_REFILL_PER_S,
          },
          'HTTP/2 client resets streams too fast: session closed',
        );
        // GOAWAY first (destroy alone would say NO_ERROR), then drop the session once the frame is out.
        session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
        setImmediate(() => session.destroy());
      });
    });
    if (options.idleTimeoutMs > 0) {
      // The session's timer runs on frames; only a session with nothing in flight is idle (a long poll is not).
      session.setTimeout(options.idleTimeoutMs, () => {
        if (open === 0) session.close();
      });
    }
  });

  const onRequest = (req: Http2ServerRequest, res: Http2ServerResponse): void => {
    const problem = http2HeadProblem(req, options.maxHeaderBytes);
    if (problem) {
      const correlationId = newCorrelationId();
      logger.info({ correlationId, code: problem, remote: clientAddress(req.socket) }, 'HTTP/2 request refused');
      respondError(res as unknown as ServerResponse, problem, correlationId);
      return;
    }
    options.handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  };
  server.on('request', onRequest);
  // The request path answers Expect itself (proxy/handler.ts), as on HTTP/1.1.
  server.on('checkContinue', onRequest);

  return {
    server,
    closeIdleSessions() {
      for (const s of sessions) if (!s.closed) s.close();
    },
    closeAllSessions() {
      for (const s of sessions) s.destroy();
    },
  };
}

/**
 * What HTTP/2 requests are refused for before the shared request path (which then applies limits.maxHeaderCount and
 * the one-Host rule to them as to HTTP/1.1): CONNECT (not a forward proxy), no :authority nor Host, a Host that
 * names another authority (RFC 9113 §8.3.1), and a head larger than limits.maxHeaderBytes measured as the same
 * head in HTTP/1.1 would be. Sets `headers.host` from :authority, as the request path reads it.
 */
export function http2HeadProblem(req: Http2ServerRequest, maxHeaderBytes: number): ErrorCode | null {
  const headers = req.headers;
  if (req.method === 'CONNECT') return 'DB-HTTP-METHOD-NOT-SUPPORTED';
  const lineBytes = req.method.length + (req.url?.length ?? 0) + 12; // "<method> <path> HTTP/1.1\r\n"
  if (lineBytes > maxHeaderBytes) return 'DB-HTTP-URI-TOO-LONG';
  let bytes = lineBytes;
  let cookies = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].charCodeAt(0) === 58 /* ':' */ && raw[i] !== ':authority') continue;
    // Cookie crumbs (RFC 9113 §8.2.3) make one HTTP/1.1 line, joined by "; ".
    if (raw[i] === 'cookie' && ++cookies > 1) bytes += raw[i + 1].length + 2;
    else bytes += raw[i].length + raw[i + 1].length + 4; // "<name>: <value>\r\n"; :authority stands for Host
  }
  if (bytes + 2 > maxHeaderBytes) return 'DB-HTTP-HEADERS-TOO-LARGE';
  const authority = headers[':authority'];
  const host = headers.host;
  if (typeof authority === 'string' && authority !== '') {
    if (host !== undefined && host !== authority) return 'DB-HTTP-HOST-INVALID';
    headers.host = authority;
  }
  return null;
}
