import type { IncomingMessage } from 'node:http';
import http2, { type ClientHttp2Stream } from 'node:http2';

/**
 * A request whose body broke before its end (the client left, or sent malformed framing) must reach the backend as
 * an aborted request, never as a finished shorter one: its tunnel stream is reset (the connector then destroys the
 * backend connection), and a request that has no stream yet never opens one.
 */
const aborted = new WeakSet<IncomingMessage>();
const upstreams = new WeakMap<IncomingMessage, ClientHttp2Stream>();

export function abortRequest(req: IncomingMessage): void {
  aborted.add(req);
  const stream = upstreams.get(req);
  if (stream && !stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
}

export function isAborted(req: IncomingMessage): boolean {
  return aborted.has(req);
}

/** The stream now carrying `req`'s body (each retry binds its own). */
export function bindUpstream(req: IncomingMessage, stream: ClientHttp2Stream): void {
  upstreams.set(req, stream);
}
