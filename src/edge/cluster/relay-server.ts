/**
 * The relay's receiving side (issue 11): streams another edge node opens here because this node holds tunnels of the
 * app's group. Mutual TLS with node certificates only (relay-credentials.ts), HTTP/2 with the tunnel's windows.
 *
 * A relayed stream already carries the tunnel-stream headers the first node built (app, correlation id, identity,
 * assertion, X-Forwarded-For …): identity headers are trusted here only because this channel is authenticated as an
 * edge node, and the first node strips every x-drawbridge-* a client sends. This node routes it through the same
 * request path as its own clients' (stream-to-group.ts) with its local tunnels only — never relayed again, so one hop
 * at most — and pipes both ways. It behaves towards the first node exactly as a connector does: a failure before the
 * response is answered with the catalogue code in x-drawbridge-error, a stream cut mid-response is reset, and a body of
 * unknown length reaches the connector finished only if the first node finished it (the end trailer).
 */
import http2, {
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
  type ClientHttp2Stream,
} from 'node:http2';
import tls from 'node:tls';
import {
  APP_HEADER,
  BODY_END_TRAILER,
  ERROR_HEADER,
  ERROR_DETAIL_HEADER,
  REQUEST_ID_HEADER,
  UPGRADE_HEADER,
} from '../../tunnel/protocol.ts';
import { TUNNEL_SESSION_OPTIONS, widenConnectionWindow } from '../../tunnel/flow-control.ts';
import { catalogue, type ErrorCode } from '../../errors/catalogue.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/log.ts';
import type { TunnelRegistry } from '../tunnel/registry.ts';
import { RELAYED_HEADER } from '../tunnel/tunnel.ts';
import type { RouteTable } from '../proxy/routes.ts';
import { streamToGroup } from '../proxy/stream-to-group.ts';
import { ReplayableBody } from '../proxy/replayable-body.ts';
import { retryable } from '../proxy/handler.ts';
import { tlsProfileOptions } from '../listen/tls-profile.ts';
import { clientAddress } from '../listen/client-address.ts';
import { RELAY_ALPN, nodeIdOfPeer, type NodeCredentials } from './relay-credentials.ts';
import { releaseWhenClosed } from '../../lib/release-closed-stream.ts';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR } = http2.constants;

export interface RelayServerDeps {
  credentials: NodeCredentials;
  registry: TunnelRegistry;
  routes: RouteTable;
  logger: Logger;
  /** Every relayed stream, for the node's drain bookkeeping (it counts until the stream closes). */
  onStream?(stream: ServerHttp2Stream): void;
}

export interface RelayServer {
  /** The TLS server the public port hands relay connections to (by ALPN). */
  server: tls.Server;
  /** A renewed node certificate, for new connections. */
  setCredentials(credentials: NodeCredentials): void;
  /** Stops taking streams: GOAWAY on every session, open streams finish. */
  close(): void;
}

export function createRelayServer(deps: RelayServerDeps): RelayServer {
  const { logger } = deps;
  const contextOf = (c: NodeCredentials): tls.SecureContextOptions => ({
    key: c.keyPem,
    cert: c.certPem,
    ca: c.caCertPem,
    ...tlsProfileOptions('modern'),
  });
  const server = tls.createServer({
    ...contextOf(deps.credentials),
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: [RELAY_ALPN],
  });
  const h2 = http2.createServer({ ...TUNNEL_SESSION_OPTIONS });
  const sessions = new Set<ServerHttp2Session>();
  const peerOf = new WeakMap<ServerHttp2Session, string>();
  let pendingPeer = '';

  server.on('secureConnection', (socket) => {
    const peer = nodeIdOfPeer(socket.getPeerCertificate(), 'client');
    if (peer === null) {
      // Signed by the tunnel CA (TLS checked that) but not a node's: a connector certificate, say.
      logger.warn(
        {
          code: 'DB-TUNNEL-RELAY-REFUSED',
          remote: clientAddress(socket),
          subject: socket.getPeerCertificate().subject?.CN,
        },
        "relay: a certificate that is not an edge node's, connection closed",
      );
      socket.destroy();
      return;
    }
    pendingPeer = peer;
    h2.emit('connection', socket);
    pendingPeer = '';
  });
  server.on('tlsClientError', (err, socket) => {
    logger.warn(
      { code: 'DB-TUNNEL-RELAY-REFUSED', err: err.message, remote: clientAddress(socket) },
      'relay: TLS handshake refused',
    );
  });
  h2.on('session', (session: ServerHttp2Session) => {
    peerOf.set(session, pendingPeer);
    sessions.add(session);
    widenConnectionWindow(session);
    session.on('error', (err) => logger.debug({ peer: peerOf.get(session), err: err.message }, 'relay session error'));
    session.once('close', () => sessions.delete(session));
    logger.info({ peer: pendingPeer }, 'relay: peer node connected');
  });
  h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    deps.onStream?.(stream);
    releaseWhenClosed(stream);
    serveRelayed(stream, headers, deps, peerOf.get(stream.session as ServerHttp2Session) ?? '');
  });

  return {
    server,
    setCredentials(c) {
      server.setSecureContext(contextOf(c));
    },
    close() {
      for (const s of sessions) if (!s.closed) s.close();
    },
  };
}

/** One relayed stream: into this node's own tunnels of the app's group, both directions piped. */
function serveRelayed(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  deps: RelayServerDeps,
  peer: string,
): void {
  const { logger, routes } = deps;
  stream.on('error', () => {
    /* reported through 'close' */
  });
  const correlationId =
    typeof headers[REQUEST_ID_HEADER] === 'string' ? headers[REQUEST_ID_HEADER] : newCorrelationId();
  const appId = headers[APP_HEADER];
  if (typeof headers[RELAYED_HEADER] !== 'string' || typeof appId !== 'string') {
    logger.warn(
      { peer, correlationId, path: headers[':path'], code: 'DB-HTTP-BAD-REQUEST' },
      'relay: a stream without the relay marker or an app',
    );
    return answerError(stream, 'DB-HTTP-BAD-REQUEST');
  }
  // The first node routed by its own copy of the route table; this one may not have seen a change yet.
  const app = routes.get(appId);
  if (!app) return answerError(stream, 'DB-ROUTE-UNKNOWN-HOST');
  if (!app.enabled) return answerError(stream, 'DB-ROUTE-APP-DISABLED');

  const forward: OutgoingHttpHeaders = { ...headers };
  delete forward[RELAYED_HEADER];
  const method = String(headers[':method']);
  const withBody = !stream.endAfterHeaders;
  // The first node framed the body for a connector: an unknown length ends with the end trailer, an upgrade with none.
  const needsEndTrailer = withBody && headers['content-length'] === undefined && headers[UPGRADE_HEADER] === undefined;
  let endTrailer = false;
  let aborted = false;
  // The first node keeps its copy too; this one keeps its own so a refusal here is retried here, on another tunnel.
  const body = withBody ? new ReplayableBody(stream) : null;
  let current: ClientHttp2Stream | null = null;
  stream.once('trailers', (trailers: IncomingHttpHeaders) => {
    endTrailer = trailers[BODY_END_TRAILER] === '1';
  });
  const cancel = (): void => {
    aborted = true;
    if (current && !current.closed && !current.readableEnded) current.close(NGHTTP2_CANCEL);
  };
  stream.once('aborted', cancel);
  stream.once('close', () => {
    body?.release();
    if (stream.rstCode !== NGHTTP2_NO_ERROR) cancel();
  });

  streamToGroup(
    deps.registry,
    {
      groupId: app.groupId,
      appId: app.id,
      headers: forward,
      correlationId,
      logger,
      localOnly: true, // one hop: a relayed stream is never relayed again
      options: { endStream: !withBody, waitForTrailers: needsEndTrailer },
      idempotent: retryable(app, method),
      resendable: () => (body === null || body.resendable) && !stream.headersSent,
      wanted: () => !aborted && !stream.destroyed && !stream.closed,
    },
    {
      onOpen(up) {
        current = up;
        if (body === null) return;
        // Finished only as the first node finished it: with the trailer, or cancelled.
        if (needsEndTrailer)
          up.once('wantTrailers', () =>
            endTrailer ? up.sendTrailers({ [BODY_END_TRAILER]: '1' }) : up.close(NGHTTP2_CANCEL),
          );
        body.attach(up);
      },
      onAbandon(up) {
        body?.detach(up);
      },
      onFail(code) {
        answerError(stream, code);
      },
      onResponse(up, responseHeaders) {
        body?.release();
        if (stream.destroyed || stream.closed) return void up.close(NGHTTP2_CANCEL);
        const out: OutgoingHttpHeaders = {};
        for (const [name, value] of Object.entries(responseHeaders))
          if (name === ':status' || !name.startsWith(':')) out[name] = value;
        try {
          stream.respond(out, { endStream: up.endAfterHeaders });
        } catch {
          return void up.close(NGHTTP2_CANCEL);
        }
        if (up.endAfterHeaders) return;
        up.pipe(stream, { end: false });
        // A clean end ends the relayed stream; a reset (connector lost, backend failed mid-body) resets it, so the first
        // node cuts its client's response or resumes the download, as it would for its own tunnel.
        up.once('close', () => {
          if (stream.destroyed || stream.closed) return;
          if (up.readableEnded && (up.rstCode === undefined || up.rstCode === NGHTTP2_NO_ERROR)) stream.end();
          else stream.close(up.rstCode && up.rstCode !== NGHTTP2_NO_ERROR ? up.rstCode : NGHTTP2_INTERNAL_ERROR);
        });
      },
    },
  );
}

/** Answers as a connector does: the catalogue code in x-drawbridge-error, the first node renders the page. */
function answerError(stream: ServerHttp2Stream, code: ErrorCode, detail?: string): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  const headers: OutgoingHttpHeaders = { ':status': catalogue[code].status, [ERROR_HEADER]: code };
  if (detail) headers[ERROR_DETAIL_HEADER] = encodeURIComponent(detail);
  stream.respond(headers, { endStream: true });
  if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
}
