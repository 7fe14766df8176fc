import type net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { clientKey } from '../../lib/client-address.ts';
import { clientAddress } from './client-address.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import type { Logger } from '../../lib/log.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { respondError, respondErrorOnSocket } from '../proxy/respond-error.ts';

export interface ClientLimitsOptions {
  /** Connections one client (IPv4 address or IPv6 /64) may hold open on the public server. */
  maxConnectionsPerClient: number;
  /** Requests one client may have in progress at once (upgraded connections count as connections only). */
  maxRequestsPerClient: number;
  logger: Logger;
}

/** Beyond this many times its connection limit a client's connections are closed unanswered, before any TLS work. */
const HARD_LIMIT_FACTOR = 2;
/** One log line per client and limit in this period, however many requests it sends. */
const LOG_EVERY_MS = 10_000;

/**
 * What one client may hold at the edge, so that no client can take the edge or an app from everyone else:
 * connections (counted from TCP accept, before TLS) and requests in progress. A connection over the limit is still
 * answered, once, with 503 DB-HTTP-TOO-MANY-CONNECTIONS and closed, so the user sees why; past twice the limit it is
 * closed at once. A request over the limit gets 429 DB-HTTP-TOO-MANY-REQUESTS. Defaults are sized for a whole
 * office behind one NAT address.
 */
export class ClientLimits {
  readonly #options: ClientLimitsOptions;
  readonly #connections = new Map<string, number>();
  readonly #requests = new Map<string, number>();
  /** Connections accepted beyond their client's limit, by `address|port` (the raw socket and its TLS socket share it). */
  readonly #excess = new Set<string>();
  readonly #logged = new Map<string, number>();

  constructor(options: ClientLimitsOptions) {
    this.#options = options;
  }

  /** New limits from a configuration reload; connections and requests already counted keep counting. */
  setLimits(limits: { maxConnectionsPerClient: number; maxRequestsPerClient: number }): void {
    this.#options.maxConnectionsPerClient = limits.maxConnectionsPerClient;
    this.#options.maxRequestsPerClient = limits.maxRequestsPerClient;
  }

  /** Counts each connection `server` is handed (the public port emits the raw sockets into it). */
  countConnections(server: net.Server): void {
    server.on('connection', (socket: net.Socket) => {
      const max = this.#options.maxConnectionsPerClient; // read per connection: a configuration reload may change it
      const key = clientKey(clientAddress(socket));
      const id = `${socket.remoteAddress}|${socket.remotePort}`;
      const count = (this.#connections.get(key) ?? 0) + 1;
      this.#connections.set(key, count);
      socket.once('close', () => {
        this.#excess.delete(id);
        const left = (this.#connections.get(key) ?? 1) - 1;
        if (left <= 0) this.#connections.delete(key);
        else this.#connections.set(key, left);
      });
      if (count <= max) return;
      this.#log(key, 'DB-HTTP-TOO-MANY-CONNECTIONS', { connections: count, limit: max });
      if (count > max * HARD_LIMIT_FACTOR) socket.destroy();
      else this.#excess.add(id);
    });
  }

  /**
   * Called first for every request: false when it was answered here (its connection is over the limit, or its
   * client has too many requests in progress). An admitted request is counted until its response closes.
   */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const key = clientKey(clientAddress(req.socket));
    if (this.#excess.has(`${req.socket.remoteAddress}|${req.socket.remotePort}`)) {
      // HTTP/2: the answer, then GOAWAY for the whole session (the HTTP/1.1 connection closes after its answer).
      const session =
        req.httpVersionMajor === 2
          ? (req as IncomingMessage & { stream?: { session?: { close(): void } } }).stream?.session
          : undefined;
      if (session) res.once('finish', () => session.close());
      this.#refuse(res, 'DB-HTTP-TOO-MANY-CONNECTIONS', true);
      return false;
    }
    const count = this.#requests.get(key) ?? 0;
    if (count >= this.#options.maxRequestsPerClient) {
      this.#log(key, 'DB-HTTP-TOO-MANY-REQUESTS', { requests: count, limit: this.#options.maxRequestsPerClient });
      // A body still arriving would hold the connection: close it after the answer.
      this.#refuse(
        res,
        'DB-HTTP-TOO-MANY-REQUESTS',
        req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined,
      );
      return false;
    }
    this.#requests.set(key, count + 1);
    res.once('close', () => {
      const left = (this.#requests.get(key) ?? 1) - 1;
      if (left <= 0) this.#requests.delete(key);
      else this.#requests.set(key, left);
    });
    return true;
  }

  /** The same check for an upgrade request (WebSocket): false when it was answered here. */
  admitUpgrade(req: IncomingMessage, socket: Duplex): boolean {
    if (!this.#excess.has(`${req.socket.remoteAddress}|${req.socket.remotePort}`)) return true;
    respondErrorOnSocket(socket, 'DB-HTTP-TOO-MANY-CONNECTIONS', newCorrelationId(), req.headers.accept);
    return false;
  }

  #refuse(res: ServerResponse, code: ErrorCode, close: boolean): void {
    if (close) res.shouldKeepAlive = false;
    res.setHeader('retry-after', '5');
    respondError(res, code, newCorrelationId());
  }

  #log(key: string, code: ErrorCode, detail: Record<string, number>): void {
    const now = Date.now();
    const id = `${code}|${key}`;
    if (now - (this.#logged.get(id) ?? 0) < LOG_EVERY_MS) return;
    if (this.#logged.size > 10_000) this.#logged.clear();
    this.#logged.set(id, now);
    this.#options.logger.warn({ client: key, code, ...detail }, 'client over its limit: refused');
  }
}
