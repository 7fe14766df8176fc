import type http from 'node:http';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';

/**
 * Node enforces an HTTP server's `headersTimeout` and `requestTimeout` with a periodic check over the connections it
 * tracks (lib/_http_server.js: checkConnections over `server[kConnections]`, every `connectionsCheckingInterval`).
 * Both the tracking list and the check are set up by `setupConnectionsTracking`, which runs only on the server's
 * 'listening' event. A server that is handed its sockets with `emit('connection')` and never listens (the edge's
 * public HTTPS server behind the shared public port, and the sibling server that carries extension methods) tracks
 * nothing: no header timeout, no 408 for a slowloris or for a connection that never sends a byte, and
 * closeIdleConnections()/closeAllConnections() do nothing.
 *
 * `trackConnections` runs that same setup for such a server, so Node's own mechanism applies unchanged: a request
 * head (or a new connection's first request) not complete within `headersTimeout` makes the server emit
 * 'clientError' with ERR_HTTP_REQUEST_TIMEOUT, whose listener answers 408 DB-HTTP-TIMEOUT. Call it once, right
 * after creating the server. Keep-alive idle connections are closed by `keepAliveTimeout` (a socket timeout Node sets
 * after each response, independent of this).
 */
export function trackConnections(server: http.Server): void {
  if (server.listening || isTracking(server)) return; // listen() has set it up
  server.emit('listening');
  // If a Node release moves the setup elsewhere, fail loudly at start-up rather than run without header timeouts.
  if (!isTracking(server))
    throw new Error('Node did not set up HTTP connection tracking on "listening": header timeouts would not apply');
}

/**
 * How often the header deadline is checked. Node's default is 30 s, which lets a connection live up to
 * `headersTimeout + 30 s`; a check every quarter of the timeout (at most once a second) keeps the overshoot small
 * for the cost of walking the list of connections whose request head is still arriving.
 */
export function connectionsCheckingInterval(headersTimeoutMs: number): number {
  return Math.max(100, Math.min(1_000, Math.floor(headersTimeoutMs / 4)));
}

/**
 * A TLS handshake that fails or times out (`handshakeTimeout`: a client that sent its ClientHello and stalled) has
 * no HTTP to answer in: close the socket at once. Without this, https.Server turns the TLS error into 'clientError',
 * whose listener would write an HTTP answer into a handshake that never completes and hold the socket open.
 */
export function closeFailedHandshakes(server: tls.Server): void {
  server.prependListener('tlsClientError', (_err: Error, socket: Duplex) => socket.destroy());
}

function isTracking(server: http.Server): boolean {
  const record = server as unknown as Record<symbol, unknown>;
  return Object.getOwnPropertySymbols(server).some(
    (s) => s.description === 'http.server.connections' && record[s] !== undefined,
  );
}
