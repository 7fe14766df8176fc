import net from 'node:net';
import { peekClientHello, type ClientHelloInfo } from './client-hello.ts';
import { parseProxyHeader } from './proxy-protocol.ts';
import { clientAddress, setClientAddress } from './client-address.ts';
import type { AddressRanges } from '../../lib/address-ranges.ts';
import type { Logger } from '../../lib/log.ts';

export interface PublicPortOptions {
  host: string;
  port: number;
  /** Never shared with other cluster workers (a worker's own direct port); see `drawbridge edge --workers`. */
  exclusive?: boolean;
  /** Decides which TLS server takes the connection. */
  route(info: ClientHelloInfo): net.Server;
  logger: Logger;
  /** Time allowed for the ClientHello (and the PROXY header before it) to arrive. */
  helloTimeoutMs?: number;
  /** Load balancers that must send a PROXY protocol header; nobody else may (`listen.trustedProxies`). */
  trustedProxies?: AddressRanges;
}

/**
 * Node's TLS layer keeps the ciphertext it receives in a ring of buffers that never shrinks while the connection
 * lives: the first buffer is sized by the first bytes handed to it (at least 1 KiB), and each time a read fills one,
 * a 16 KiB buffer joins the ring for good (src/crypto/crypto_bio.cc). The TLS server takes the ClientHello kept here
 * with one `socket.read()` (lib/_tls_wrap.js, initRead); a hello of ~1.5 KiB (a post-quantum key share) filled the
 * first buffer exactly and so cost every connection, idle or not, 16 KiB more. Handed over in pieces below 1 KiB,
 * each taken whole by OpenSSL before the next comes, the ring stays at 1 KiB until the peer sends more than that
 * at once (a busy connection gets its 16 KiB buffer as before). Other reads behave as Node's own.
 */
const HANDOVER_PIECE_BYTES = 1000;
function readInPieces(this: net.Socket, size?: number): unknown {
  if (size === undefined && this.readableLength > HANDOVER_PIECE_BYTES)
    return net.Socket.prototype.read.call(this, HANDOVER_PIECE_BYTES);
  return net.Socket.prototype.read.call(this, size);
}

/**
 * The edge's single public port: reads the PROXY protocol header a trusted load balancer puts first (the client's
 * address: listen/client-address.ts), peeks at the ClientHello, then hands the socket, positioned at the ClientHello,
 * to the TLS server that `route` picks (user traffic or connector tunnels).
 */
export function listenPublicPort(options: PublicPortOptions): Promise<net.Server> {
  const { logger, helloTimeoutMs = 10_000, trustedProxies } = options;
  const server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
    let buffered: Buffer = Buffer.alloc(0);
    // A trusted peer must say who its client is before anything else; anyone else must not claim to.
    const trusted = trustedProxies?.has(socket.remoteAddress) ?? false;
    let proxyDone = false;
    const timer = setTimeout(() => socket.destroy(), helloTimeoutMs);
    const refuse = (code: string, message: string, detail: Record<string, unknown> = {}): void => {
      clearTimeout(timer);
      logger.warn({ code, remote: socket.remoteAddress, ...detail }, message);
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      if (!proxyDone) {
        const proxy = parseProxyHeader(buffered);
        if (proxy.kind === 'need-more') return;
        if (proxy.kind === 'invalid')
          return refuse('DB-PROXY-HEADER-INVALID', 'public port: malformed PROXY protocol header, connection closed', {
            reason: proxy.reason,
            trusted,
          });
        if (proxy.kind === 'none' && trusted)
          return refuse(
            'DB-PROXY-HEADER-MISSING',
            'public port: a trusted proxy sent no PROXY protocol header, connection closed',
          );
        if (proxy.kind === 'header') {
          if (!trusted)
            return refuse(
              'DB-PROXY-HEADER-REFUSED',
              'public port: PROXY protocol header from an address not in listen.trustedProxies, connection closed',
            );
          if (proxy.header.command === 'proxy') setClientAddress(socket, proxy.header.address);
          buffered = buffered.subarray(proxy.length);
        }
        proxyDone = true;
        if (buffered.length === 0) return;
      }
      const result = peekClientHello(buffered);
      if (result.kind === 'need-more') return;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      if (result.kind === 'not-tls') {
        logger.debug({ remote: clientAddress(socket) }, 'public port: not a TLS ClientHello, closed');
        socket.destroy();
        return;
      }
      socket.pause();
      socket.unshift(buffered);
      socket.read = readInPieces;
      options.route(result.info).emit('connection', socket);
    };
    const onError = (): void => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('error', onError);
  });
  server.maxConnections = 100_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, exclusive: options.exclusive ?? false }, () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  });
}
