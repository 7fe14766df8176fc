import net from 'node:net';
import http2, { type ServerHttp2Stream } from 'node:http2';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { Logger } from '../../lib/log.ts';
import { tcpTargetOf } from '../../lib/tcp-target.ts';
import { backendErrorCode } from './backend-errors.ts';
import { relayBothWays } from '../../lib/relay.ts';

export interface TcpChannelInput {
  stream: ServerHttp2Stream;
  app: ConnectorAppConfig;
  /** What the edge asked for (TCP_HEADER): `host:port`. */
  requested: string;
  correlationId: string;
  logger: Logger;
  refuse(stream: ServerHttp2Stream, code: ErrorCode, detail?: string): void;
}

const { NGHTTP2_NO_ERROR, NGHTTP2_CANCEL, NGHTTP2_CONNECT_ERROR } = http2.constants;

/**
 * A TCP channel: dial the app's own `tcp://host:port` (nothing else: the edge names the target only so that a
 * mismatch is caught, never to choose it) and pipe bytes both ways. Half-close maps both ways (the edge's
 * END_STREAM ends the socket's writable side; the backend's FIN ends the stream); a reset on either side resets the
 * other.
 */
export function forwardTcp(input: TcpChannelInput): void {
  const { stream, app, logger, correlationId } = input;
  const target = tcpTargetOf(app.internalUrl);
  if (!target || input.requested !== `${target.host}:${target.port}`) {
    logger.warn(
      { correlationId, appId: app.id, requested: input.requested, code: 'DB-CONNECTOR-TCP-TARGET-REFUSED' },
      "refused a TCP target that is not the app's",
    );
    return input.refuse(
      stream,
      'DB-CONNECTOR-TCP-TARGET-REFUSED',
      `${input.requested || '(none)'} is not this app's TCP target`,
    );
  }
  const socket = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
  socket.setNoDelay(true);
  const connectTimer = setTimeout(
    () => socket.destroy(Object.assign(new Error('connect timed out'), { code: 'UND_ERR_CONNECT_TIMEOUT' })),
    app.backendTimeout * 1000,
  );
  let connected = false;
  stream.once('close', () => {
    clearTimeout(connectTimer);
    // The edge reset the channel (client gone, access revoked): the backend sees a reset, not a clean end.
    if (stream.rstCode !== undefined && stream.rstCode !== NGHTTP2_NO_ERROR) socket.resetAndDestroy();
    else if (!connected) socket.destroy();
  });
  socket.once('connect', () => {
    clearTimeout(connectTimer);
    connected = true;
    if (stream.destroyed) return void socket.destroy();
    logger.debug({ correlationId, appId: app.id, target: `${target.host}:${target.port}` }, 'TCP channel open');
    stream.respond({ ':status': 200 });
    relayBothWays(socket, stream);
  });
  socket.on('error', (err: NodeJS.ErrnoException) => {
    clearTimeout(connectTimer);
    if (!connected) {
      const code = backendErrorCode(err);
      logger.warn({ correlationId, appId: app.id, code, err: err.message }, 'TCP backend unreachable');
      return input.refuse(stream, code, err.message);
    }
    if (!stream.destroyed) stream.close(err.code === 'ECONNRESET' ? NGHTTP2_CONNECT_ERROR : NGHTTP2_CANCEL);
  });
  // A backend that closed without a FIN of its own after ours (a reset) is an error above; a clean close has ended
  // the stream through the relay. Either way nothing is left to send.
  socket.once('close', (hadError) => {
    if (!hadError && !stream.destroyed && stream.writableEnded === false) stream.end();
  });
}
