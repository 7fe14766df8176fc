import net from 'node:net';
import http2, { type ServerHttp2Stream } from 'node:http2';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';
import { rdpTarget, sameTarget, type RdpTarget } from '../../tunnel/rdp.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { Logger } from '../../lib/log.ts';
import { backendErrorCode } from './backend-errors.ts';
import { relayBothWays } from '../../lib/relay.ts';

/**
 * An RD Gateway channel (issue 13): the edge terminated the gateway protocol and asks for the app's RDP host. The
 * connector dials it — only the host:port of the app's own `rdp://` internal URL, never what the stream names
 * otherwise — answers 200 once connected, and the stream carries the RDP bytes both ways until either side closes.
 */
export function forwardRdp(input: {
  stream: ServerHttp2Stream;
  app: ConnectorAppConfig;
  requested: string;
  correlationId: string;
  logger: Logger;
  refuse(stream: ServerHttp2Stream, code: ErrorCode, detail?: string): void;
}): void {
  const { stream, app, logger, correlationId } = input;
  const allowed = rdpTarget(app.internalUrl);
  const requested = parseHostPort(input.requested);
  if (!allowed || !requested || !sameTarget(allowed, requested)) {
    logger.warn(
      { correlationId, appId: app.id, requested: input.requested, code: 'DB-CONNECTOR-TARGET-REFUSED' },
      'refused an RDP target outside the app',
    );
    return input.refuse(stream, 'DB-CONNECTOR-TARGET-REFUSED', `the app allows ${app.internalUrl} only`);
  }
  const socket = net.connect({ host: allowed.host, port: allowed.port, noDelay: true });
  let connected = false;
  const timer = setTimeout(
    () => socket.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })),
    app.backendTimeout * 1000,
  );
  stream.once('close', () => socket.destroy());
  socket.once('connect', () => {
    clearTimeout(timer);
    connected = true;
    if (stream.destroyed) return void socket.destroy();
    logger.info(
      {
        correlationId,
        appId: app.id,
        target: `${allowed.host}:${allowed.port}`,
        local: `${socket.localAddress}:${socket.localPort}`,
      },
      'RDP channel connected',
    );
    stream.respond({ ':status': 200 });
    stream.on('error', () => socket.destroy());
    socket.once('close', () => {
      if (!stream.closed) stream.end();
    });
    relayBothWays(socket, stream);
  });
  socket.once('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    if (connected) {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    const code = backendErrorCode(err);
    logger.warn({ correlationId, appId: app.id, code, err: err.message }, 'RDP host unreachable');
    input.refuse(stream, code, err.message);
  });
}

function parseHostPort(value: string): RdpTarget | null {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  return m ? { host: m[1], port: Number(m[2]) } : null;
}
