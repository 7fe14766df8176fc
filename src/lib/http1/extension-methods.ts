import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';

/**
 * Node's HTTP/1 parser (llhttp) refuses request methods outside its fixed list with HPE_INVALID_METHOD — Remote
 * Desktop Gateway's RDG_IN_DATA / RDG_OUT_DATA among them — and has no switch to accept more. Writing a second HTTP
 * parser would mean two framings of the same bytes, which is how request smuggling starts. So Node's parser keeps
 * framing everything, and this module only moves a connection to a sibling server when it meets an extension method:
 *
 *   - Every connection is watched at message boundaries: the bytes received since the last message that the parser
 *     completed, while no new message has started, are kept (a request head, bounded by the header limit).
 *   - When the parser refuses a method, and the refusal falls at such a boundary (every message it framed before is
 *     complete and answered, and the kept bytes are exactly the refused message so far), the request line's method is
 *     rewritten to POST, the real token travels in a header whose name is secret to this process, and the kept bytes
 *     plus whatever the socket reads next go to the sibling server (a request line still arriving is collected
 *     first). Nothing the parser consumed is fed to it again. The request reaches the handler with its own method and
 *     without that header. A connection that meets another extension method gets a new carrier over the same socket.
 *   - Anywhere else (pipelined behind a request whose body is still arriving, after bytes the parser framed as a
 *     body) the method is refused like any malformed request: the parser's framing is the only framing.
 *
 * Parse errors inside a request body abort that request (`onBrokenBody`), so a body the server did not receive whole
 * is never passed on as a finished one; other parse errors are answered (`refuse`) once every response already owed
 * on the connection has been written, so answers never interleave.
 */

const METHOD_HEADER = `x-drawbridge-m-${randomBytes(8).toString('hex')}`;
/** RFC 9110 token characters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$/;
const LF = 0x0a;

export type ParserError = NodeJS.ErrnoException & { rawPacket?: Buffer; bytesParsed?: number };

/** Why a connection's request was refused: the parser's error, or an extension method where none can be carried. */
export type RefusalReason =
  | 'malformed'
  | 'extension-method-not-at-boundary'
  | 'headers-too-large'
  | 'uri-too-long'
  | 'timeout'
  | 'connect';

export interface Http1Options {
  handler: http.RequestListener;
  /** Options for the sibling server (the same limits as the main one). */
  serverOptions: http.ServerOptions;
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Answers a refused request on the raw socket (every earlier response on it is finished) and closes it. */
  refuse(socket: Duplex, reason: RefusalReason, err: ParserError): void;
  /** A request whose body broke mid-way (malformed framing, or the client left): abort it, never finish it. */
  onBrokenBody?(req: IncomingMessage, res: ServerResponse, err: ParserError): void;
  /**
   * The handler answers `Expect` itself (it calls res.writeContinue() when the request may proceed, and refuses other
   * expectations); otherwise Node's defaults apply (100 Continue at once, 417 for anything else).
   */
  handlesExpect?: boolean;
  /** Largest request head kept while waiting for a boundary (the server's maxHeaderSize). */
  maxHeadBytes: number;
}

/** The method the client sent (the server's request listener has already given a carried request its own token). */
export function originalMethod(req: IncomingMessage): string {
  return req.method ?? 'GET';
}

/**
 * A request the sibling parsed as POST gets its real method back, and the carrier's header leaves both header views,
 * before anyone sees the request: handlers (the edge's own hosts included) see exactly what the client sent.
 */
function restoreMethod(req: IncomingMessage): void {
  const real = req.headers[METHOD_HEADER];
  if (typeof real !== 'string') return;
  req.method = real;
  delete req.headers[METHOD_HEADER];
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i] === METHOD_HEADER) {
      raw.splice(i, 2);
      break;
    }
  }
}

interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/** What the watcher knows of one connection. */
interface Connection {
  /** Exchanges whose request is incomplete or whose response is unfinished, in order. */
  open: Exchange[];
  /** Bytes since the last boundary while no message has started; null inside a message. */
  head: Buffer[] | null;
  headBytes: number;
  /** The connection moved to the sibling server; the first server's parser is dead for it. */
  movedOn: boolean;
  /** An extension method's request line is still arriving (split across reads); the server's parser is detached. */
  awaitingLine: boolean;
  /** An answer waits for the open responses to finish. */
  pendingRefusal: (() => void) | null;
  /** The socket's 'data' listener that keeps `head`. */
  watcher: (chunk: Buffer) => void;
}

/**
 * Serves HTTP/1.1 on `server` (and the sibling it creates) with extension methods carried and parse errors handled
 * as described above. Connections are watched from `connectionEvent`: 'connection' for plain servers,
 * 'secureConnection' for TLS ones. The sibling is returned so the caller applies the same timeouts and drain to it.
 */
export function serveHttp1(
  server: http.Server,
  connectionEvent: 'connection' | 'secureConnection',
  options: Http1Options,
): { sibling: http.Server } {
  const connections = new WeakMap<Duplex, Connection>();
  // The same head size limit as the main server for what the client sent: the carrier's header line comes on top.
  const sibling = http.createServer({
    ...options.serverOptions,
    maxHeaderSize: (options.serverOptions.maxHeaderSize ?? http.maxHeaderSize) + METHOD_HEADER.length + 70,
  });
  // A server property, not an option: the same header count as the main server (plus the carrier's header).
  sibling.maxHeadersCount = server.maxHeadersCount === null ? null : server.maxHeadersCount + 1;
  for (const s of [server, sibling]) {
    s.on('request', (req: IncomingMessage, res: ServerResponse) => {
      started(req, res);
      options.handler(req, res);
    });
    if (options.handlesExpect) {
      for (const event of ['checkContinue', 'checkExpectation']) {
        s.on(event, (req: IncomingMessage, res: ServerResponse) => {
          started(req, res);
          options.handler(req, res);
        });
      }
    }
    s.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      restoreMethod(req);
      const c = connections.get(socket);
      if (c) {
        // The connection is no longer HTTP/1.1: nothing more to watch, for as long as it lives.
        c.head = null;
        socket.removeListener('data', c.watcher);
        connections.delete(socket);
      }
      if (options.onUpgrade) options.onUpgrade(req, socket, head);
      else socket.destroy();
    });
    s.on('clientError', onClientError);
    // Not a forward proxy: CONNECT gets an answer rather than Node's silent close.
    s.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => socket.destroy());
      options.refuse(socket, 'connect', Object.assign(new Error('CONNECT refused'), { code: 'CONNECT' }));
    });
  }
  server.on(connectionEvent, watch);
  sibling.on('connection', watch);
  return { sibling };

  function watch(socket: Duplex): void {
    const c: Connection = {
      open: [],
      head: null,
      headBytes: 0,
      movedOn: false,
      awaitingLine: false,
      pendingRefusal: null,
      watcher,
    };
    connections.set(socket, c);
    // Runs before the parser sees the chunk: decides whether this chunk starts at a message boundary.
    socket.prependListener('data', watcher);
    function watcher(chunk: Buffer): void {
      if (c.movedOn || c.awaitingLine) return;
      while (c.open.length > 0 && c.open[0].req.complete && c.open[0].res.writableFinished) c.open.shift();
      const framing = c.open.length > 0 && !c.open[c.open.length - 1].req.complete;
      if (framing) {
        c.head = null;
      } else if (c.head === null) {
        c.head = [chunk];
        c.headBytes = chunk.length;
      } else if (c.headBytes + chunk.length <= options.maxHeadBytes + 8) {
        c.head.push(chunk);
        c.headBytes += chunk.length;
      }
    }
  }

  function started(req: IncomingMessage, res: ServerResponse): void {
    restoreMethod(req);
    const c = connections.get(req.socket);
    if (!c) return;
    c.head = null;
    const exchange = { req, res };
    c.open.push(exchange);
    res.once('close', () => {
      const i = c.open.indexOf(exchange);
      if (i >= 0) c.open.splice(i, 1);
      if (c.pendingRefusal && c.open.length === 0) c.pendingRefusal();
    });
    req.once('close', () => {
      // A body that stopped before its end (client gone, or the parser refused the rest): abort, never finish.
      if (!req.complete && !res.writableEnded)
        (options.onBrokenBody ?? destroyBoth)(
          req,
          res,
          Object.assign(new Error('request body incomplete'), { code: 'ECONNRESET' }),
        );
    });
  }

  function onClientError(err: ParserError, socket: Duplex): void {
    const c = connections.get(socket);
    if (!c || c.movedOn || socket.destroyed || socket.writableEnded) return;
    c.awaitingLine = false; // a request line that never ended: timed out
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return void socket.destroy();
    const carried = err.code === 'HPE_INVALID_METHOD' ? moveToSibling(socket, c) : null;
    if (carried === 'moved') return;
    const inBody = c.open.find((e) => !e.req.complete);
    if (inBody) {
      // The error lies in this request's body: it must reach the backend as aborted, not as a shorter body.
      (options.onBrokenBody ?? destroyBoth)(inBody.req, inBody.res, err);
      return;
    }
    const reason: RefusalReason =
      carried === 'not-at-boundary'
        ? 'extension-method-not-at-boundary'
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? requestLineOverflowed(c)
            ? 'uri-too-long'
            : 'headers-too-large'
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_HEADERS_TIMEOUT'
            ? 'timeout'
            : 'malformed';
    const answer = (): void => {
      c.pendingRefusal = null;
      if (!socket.destroyed && !socket.writableEnded) options.refuse(socket, reason, err);
    };
    // Answers owed for earlier pipelined requests go first; the refusal follows them, then the connection closes.
    if (c.open.length === 0) answer();
    else c.pendingRefusal = answer;
  }

  /** Carries the refused method through the sibling server when the refusal falls at a message boundary. */
  function moveToSibling(socket: Duplex, c: Connection): 'moved' | 'not-at-boundary' | 'not-carriable' {
    // A boundary means nothing owed either way: every request complete and every response written. Moving while a
    // response is still owed would let the sibling answer first, and the client would pair answers with the wrong
    // requests.
    while (c.open.length > 0 && c.open[0].req.complete && c.open[0].res.writableFinished) c.open.shift();
    if (c.head === null || c.open.length > 0) return 'not-at-boundary';
    // Not a method token (too long, a control character…): malformed, wherever it stands.
    const line = requestLine(c.head.length === 1 ? c.head[0] : Buffer.concat(c.head));
    if (line === null) return 'not-carriable';
    if (line === 'partial') awaitRequestLine(socket, c);
    else carry(socket, c, line);
    return 'moved';
  }

  /**
   * The parser refuses a method at its first unknown byte, often before the request line is complete (a line split
   * across TLS records or writes). The server's parser is detached and the line is collected here, within the head
   * limit; the server's header timeout still runs (its 'clientError' answers 408).
   */
  function awaitRequestLine(socket: Duplex, c: Connection): void {
    c.awaitingLine = true;
    detachHttpServer(socket);
    const onData = (chunk: Buffer): void => {
      if (!c.awaitingLine || c.head === null) return void socket.removeListener('data', onData);
      c.head.push(chunk);
      c.headBytes += chunk.length;
      const line = requestLine(Buffer.concat(c.head));
      if (line === 'partial' && c.headBytes <= options.maxHeadBytes) return;
      c.awaitingLine = false;
      socket.removeListener('data', onData);
      if (line !== null && line !== 'partial') return carry(socket, c, line);
      const reason: RefusalReason = line === 'partial' ? 'uri-too-long' : 'malformed';
      options.refuse(
        socket,
        reason,
        Object.assign(new Error('request line refused'), {
          code: line === 'partial' ? 'HPE_HEADER_OVERFLOW' : 'HPE_INVALID_METHOD',
        }),
      );
    };
    socket.on('data', onData);
    socket.once('end', () => {
      if (c.awaitingLine) socket.destroy();
    });
  }

  /** Moves the connection to the sibling with the request line's method rewritten (its real token in a header). */
  function carry(socket: Duplex, c: Connection, line: RequestLine): void {
    const { bytes, space, lineEnd, method } = line;
    const headersStart = lineEnd + 1;
    const rewritten = Buffer.concat([
      Buffer.from('POST'),
      bytes.subarray(space, headersStart),
      Buffer.from(`${METHOD_HEADER}: ${method}\r\n`),
      bytes.subarray(headersStart),
    ]);
    c.movedOn = true;
    c.head = null;
    sibling.emit('connection', replay(socket, rewritten));
  }
}

interface RequestLine {
  /** The kept bytes without the empty lines before the message. */
  bytes: Buffer;
  space: number;
  lineEnd: number;
  method: string;
}

/**
 * The extension method's request line in the kept bytes: complete, still arriving ('partial'), or null when there is
 * nothing to carry (not a token, a method the parser knows, no target).
 */
function requestLine(kept: Buffer): RequestLine | 'partial' | null {
  // The parser skips empty lines between messages (RFC 9112 §2.2).
  let start = 0;
  while (start < kept.length && (kept[start] === 0x0d || kept[start] === LF)) start++;
  const bytes = kept.subarray(start);
  const space = bytes.indexOf(0x20);
  const lineEnd = bytes.indexOf(LF);
  const method = bytes.subarray(0, space < 0 ? (lineEnd < 0 ? bytes.length : lineEnd) : space).toString('latin1');
  if (!TOKEN.test(method) || (http.METHODS as readonly string[]).includes(method)) return null;
  if (lineEnd < 0) return 'partial';
  if (space <= 0 || lineEnd < space) return null;
  return { bytes, space, lineEnd, method };
}

/** The header block overflowed before its request line ended: the target itself is too long (RFC 9112 §3). */
function requestLineOverflowed(c: Connection): boolean {
  if (c.head === null) return false;
  const first = c.head[0];
  const lineEnd = first.indexOf(LF);
  return lineEnd < 0 ? c.headBytes >= 8192 : lineEnd >= 8192;
}

function destroyBoth(req: IncomingMessage, res: ServerResponse): void {
  req.destroy();
  res.destroy();
}

/** A connection the sibling server carries: the socket underneath, and how to let this carrier go. */
interface Carrier {
  raw: Duplex;
  retire(): void;
}
const carriers = new WeakMap<Duplex, Carrier>();

/**
 * A Duplex that yields `first` and then whatever the socket reads from now on: the first server's parser read the
 * socket, so the kept bytes are pushed through JS rather than unshifted. A connection the sibling already carries
 * that meets another extension method gets a new carrier over the same socket and the old one is retired (never a
 * carrier of a carrier: one layer per request would cost memory and a stack frame per layer for every byte).
 */
function replay(socket: Duplex, first: Buffer): Duplex {
  const previous = carriers.get(socket);
  const raw = previous?.raw ?? socket;
  if (previous) previous.retire();
  else detachHttpServer(raw);
  let retired = false;
  const wrapper = new Duplex({
    read() {
      if (!retired) raw.resume();
    },
    write(chunk, _enc, cb) {
      if (retired) cb(new Error('connection moved on'));
      else raw.write(chunk, cb);
    },
    final(cb) {
      if (!retired) raw.end();
      cb();
    },
    destroy(err, cb) {
      if (!retired) raw.destroy(err ?? undefined);
      cb(err);
    },
  });
  const net = raw as Socket;
  Object.defineProperty(wrapper, 'remoteAddress', { value: net.remoteAddress });
  Object.defineProperty(wrapper, 'remotePort', { value: net.remotePort });
  Object.defineProperty(wrapper, 'encrypted', { value: (raw as { encrypted?: boolean }).encrypted === true });
  Object.assign(wrapper, {
    // The server's idle and keep-alive timeouts run on the socket's timer; its 'timeout' is relayed below.
    setTimeout: (ms: number, cb?: () => void) => {
      if (!retired) net.setTimeout?.(ms);
      if (cb) wrapper.once('timeout', cb);
      return wrapper;
    },
    setNoDelay: () => wrapper,
    setKeepAlive: () => wrapper,
  });
  const onData = (chunk: Buffer): void => {
    if (!wrapper.push(chunk)) raw.pause();
  };
  const onEnd = (): void => {
    wrapper.push(null);
  };
  const onError = (e: Error): void => {
    wrapper.destroy(e);
  };
  const onClose = (): void => {
    wrapper.destroy();
  };
  const onTimeout = (): void => {
    wrapper.emit('timeout');
  };
  raw.on('data', onData);
  raw.on('end', onEnd);
  raw.on('error', onError);
  raw.on('close', onClose);
  raw.on('timeout', onTimeout);
  carriers.set(wrapper, {
    raw,
    retire() {
      // Everything owed on the old carrier is written (moveToSibling's boundary): it only lets go of the socket.
      retired = true;
      raw.removeListener('data', onData);
      raw.removeListener('end', onEnd);
      raw.removeListener('error', onError);
      raw.removeListener('close', onClose);
      raw.removeListener('timeout', onTimeout);
      wrapper.destroy();
    },
  });
  queueMicrotask(() => wrapper.push(first));
  return wrapper;
}

/**
 * Detaches the server's parser from the socket (its listeners are Node's socketOn*); TLS's own listeners stay, and so
 * does the server's 'close' listener: it frees the parser and drops the connection from the server's list, which
 * would otherwise keep every socket that ever carried an extension method.
 */
function detachHttpServer(socket: Duplex): void {
  for (const event of ['data', 'end', 'error', 'timeout', 'drain']) {
    for (const listener of socket.listeners(event)) {
      if (/(^|\s)socketOn[A-Z]/.test((listener as { name: string }).name))
        socket.removeListener(event, listener as () => void);
    }
  }
}
