import http from 'node:http';
import { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/log.ts';

/**
 * Node's HTTP/1 parser refuses method tokens outside its fixed list (HPE_INVALID_METHOD), Remote Desktop Gateway's
 * RDG_IN_DATA / RDG_OUT_DATA among them. Rather than hand-writing an HTTP parser, the edge rewrites the request
 * line's method to POST, records the real token in a header whose name is secret to this process (so no client can
 * forge it), and hands the connection to a second HTTP server that shares the request handler. Node's strict parser
 * therefore still frames the body (chunked or Content-Length), so smuggling protections hold.
 */
const METHOD_HEADER = `x-drawbridge-m-${randomBytes(8).toString('hex')}`;
/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;

export function originalMethod(req: IncomingMessage): string {
  const real = req.headers[METHOD_HEADER];
  if (typeof real === 'string') {
    delete req.headers[METHOD_HEADER];
    return real;
  }
  return req.method ?? 'GET';
}

export interface CustomMethodOptions {
  handler: http.RequestListener;
  serverOptions: http.ServerOptions;
  logger: Logger;
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/** Returns the `clientError` listener for the public server. */
export function createClientErrorHandler(options: CustomMethodOptions): (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex) => void {
  const rewritten = http.createServer(options.serverOptions, options.handler);
  if (options.onUpgrade) rewritten.on('upgrade', options.onUpgrade);

  const onClientError = (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void => {
    // The parser can report again for bytes that keep arriving; the answer is already on its way.
    if (socket.writableEnded || socket.destroyed) return;
    const raw = err.rawPacket;
    if (err.code === 'HPE_INVALID_METHOD' && raw && socket.writable) {
      const space = raw.indexOf(0x20);
      const lineEnd = raw.indexOf('\r\n');
      const method = space > 0 ? raw.subarray(0, space).toString('latin1') : '';
      if (space > 0 && lineEnd > space && TOKEN.test(method)) {
        const request = Buffer.concat([
          Buffer.from('POST'), raw.subarray(space, lineEnd + 2),
          Buffer.from(`${METHOD_HEADER}: ${method}\r\n`), raw.subarray(lineEnd + 2),
        ]);
        rewritten.emit('connection', replay(socket, request));
        return;
      }
    }
    // A client that just hangs up (reset, broken pipe) sent nothing malformed: nothing to answer or report.
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      socket.destroy();
      return;
    }
    options.logger.info({ code: errorCode(err), parserError: err.code, remote: (socket as Socket).remoteAddress }, 'malformed request refused');
    if (socket.writable) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: text/plain\r\nx-drawbridge-error: ${errorCode(err)}\r\n\r\n${errorCode(err)}\n`);
      lingerThenClose(socket);
    } else {
      socket.destroy();
    }
  };
  rewritten.on('clientError', onClientError);
  return onClientError;
}

/**
 * Lingering close: the client may still be sending (an oversized header block, a body). Closing at once would make
 * the kernel answer with RST, which can discard our error response before the client reads it; so drain and
 * discard what still arrives for a moment, then close.
 */
function lingerThenClose(socket: Duplex): void {
  socket.on('data', () => {});
  socket.resume();
  setTimeout(() => socket.destroy(), 2000).unref();
}

function errorCode(err: NodeJS.ErrnoException): string {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 'DB-HTTP-HEADERS-TOO-LARGE';
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT') return 'DB-HTTP-TIMEOUT';
  return 'DB-HTTP-BAD-REQUEST';
}

/**
 * A Duplex that yields `first` and then whatever the socket reads: the parser of the first server consumed the
 * socket's handle directly, so the bytes must be replayed through JS rather than unshifted.
 */
function replay(socket: Duplex, first: Buffer): Duplex {
  const wrapper = new Duplex({
    read() { socket.resume(); },
    write(chunk, _enc, cb) { socket.write(chunk, cb); },
    final(cb) { socket.end(); cb(); },
    destroy(err, cb) { socket.destroy(err ?? undefined); cb(err); },
  });
  for (const event of ['data', 'end', 'error', 'close', 'timeout', 'drain']) socket.removeAllListeners(event);
  const net = socket as Socket;
  Object.defineProperty(wrapper, 'remoteAddress', { value: net.remoteAddress });
  Object.defineProperty(wrapper, 'remotePort', { value: net.remotePort });
  Object.defineProperty(wrapper, 'encrypted', { value: true });
  Object.assign(wrapper, { setTimeout: (ms: number, cb?: () => void) => { net.setTimeout?.(ms, cb); return wrapper; }, setNoDelay: () => wrapper, setKeepAlive: () => wrapper });
  wrapper.push(first);
  socket.on('data', (chunk: Buffer) => { if (!wrapper.push(chunk)) socket.pause(); });
  socket.on('end', () => wrapper.push(null));
  socket.on('error', (e) => wrapper.destroy(e));
  socket.on('close', () => wrapper.destroy());
  return wrapper;
}
