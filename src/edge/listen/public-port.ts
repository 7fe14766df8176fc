import net from 'node:net';
import { peekClientHello, type ClientHelloInfo } from './client-hello.ts';
import type { Logger } from '../../lib/log.ts';

export interface PublicPortOptions {
  host: string;
  port: number;
  /** Decides which TLS server takes the connection. */
  route(info: ClientHelloInfo): net.Server;
  logger: Logger;
  /** Time allowed for the ClientHello to arrive. */
  helloTimeoutMs?: number;
}

/**
 * The edge's single public port: peeks at each connection's ClientHello, then hands the untouched socket to the TLS
 * server that `route` picks (user traffic or connector tunnels).
 */
export function listenPublicPort(options: PublicPortOptions): Promise<net.Server> {
  const { logger, helloTimeoutMs = 10_000 } = options;
  const server = net.createServer({ noDelay: true, pauseOnConnect: false }, (socket) => {
    let buffered: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), helloTimeoutMs);
    const onData = (chunk: Buffer): void => {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      const result = peekClientHello(buffered);
      if (result.kind === 'need-more') return;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('error', onError);
      if (result.kind === 'not-tls') {
        logger.debug({ remote: socket.remoteAddress }, 'public port: not a TLS ClientHello, closed');
        socket.destroy();
        return;
      }
      socket.pause();
      socket.unshift(buffered);
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
    server.listen(options.port, options.host, () => {
      server.removeListener('error', reject);
      resolve(server);
    });
  });
}
