import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import http2 from 'node:http2';
import {
  APP_HEADER,
  ERROR_HEADER,
  IDENTITY_HEADER,
  REQUEST_ID_HEADER,
  TCP_HEADER,
  encodeIdentity,
  type Identity,
} from '../../tunnel/protocol.ts';
import type { App } from '../../store/types.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { Logger } from '../../lib/log.ts';
import { tcpTargetOf } from '../../lib/tcp-target.ts';
import type { TunnelRegistry } from '../tunnel/registry.ts';
import type { Closable } from '../cae/live-connections.ts';
import { clientAddress } from '../listen/client-address.ts';
import { respondErrorOnSocket, errorCodeOr } from './respond-error.ts';
import { streamToGroup } from './stream-to-group.ts';
import { relayBothWays } from '../../lib/relay.ts';

/**
 * TCP apps for native clients (issue 13). A client (`drawbridge access tcp|ssh`) opens TLS to the app's external
 * host on the public port and asks for an HTTP/1.1 upgrade to TCP_UPGRADE_PROTOCOL with `Authorization: Bearer
 * <token>`. The edge checks the token and the access decision (AuthorizeChannel, from the sign-in layer), opens one
 * bidirectional stream to the app's connector group through the one request path (stream-to-group.ts) carrying
 * TCP_HEADER, answers 101 once the connector has dialled the app, and pipes bytes: the client's FIN ends the stream
 * (END_STREAM), the stream's end ends the client's socket; a reset on either side resets the other.
 */
export const TCP_UPGRADE_PROTOCOL = 'drawbridge-tcp/1';

export interface ChannelStats {
  /** Bytes from the client to the app, and back. */
  bytesUp: number;
  bytesDown: number;
  durationMs: number;
  /** `client` / `app`: that side closed first (cleanly); `reset`: either side broke it; `revoked`: access evaluation ended it. */
  endedBy: 'client' | 'app' | 'reset' | 'revoked' | 'failed';
  connectorId: string | null;
}

/** What the sign-in layer grants a channel: the identity, registration with continuous access, and its audit. */
export interface ChannelGrant {
  identity: Identity;
  /** Registers the open channel so continuous access evaluation can end it. */
  track(closed: Closable, end: (code: ErrorCode, reason: string) => void): void;
  /** The channel closed: its audit record. */
  finished(stats: ChannelStats & { target: string }): void;
}

export type AuthorizeChannel = (
  req: IncomingMessage,
  app: App,
  correlationId: string,
) => Promise<{ ok: true; grant: ChannelGrant } | { ok: false; code: ErrorCode }>;

export interface TcpChannelDeps {
  registry: TunnelRegistry;
  logger: Logger;
  authorize: AuthorizeChannel | null;
}

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

/** A TCP reset where the socket has one (a TLS socket over TCP), so the client tells a broken channel from an end. */
function reset(socket: Duplex): void {
  const s = socket as Duplex & { resetAndDestroy?: () => void };
  try {
    if (s.resetAndDestroy) return void s.resetAndDestroy();
  } catch {
    /* no TCP handle under it: destroy below */
  }
  socket.destroy();
}

export function isTcpUpgrade(req: IncomingMessage): boolean {
  return String(req.headers.upgrade ?? '').toLowerCase() === TCP_UPGRADE_PROTOCOL;
}

/** Handles an upgrade request to a TCP app (the app host's route, enabled flag and head hygiene already checked). */
export function openTcpChannel(
  deps: TcpChannelDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  app: App,
  correlationId: string,
): void {
  const { logger } = deps;
  const fail = (code: ErrorCode, detail?: string): void =>
    respondErrorOnSocket(socket, code, correlationId, 'application/json', detail);
  const target = tcpTargetOf(app.internalUrl);
  if (!target || !isTcpUpgrade(req)) return fail('DB-TCP-NOT-TCP-APP');
  if (!deps.authorize) return fail('DB-INTERNAL', 'sign-in is not configured on this edge');
  deps.authorize(req, app, correlationId).then(
    (result) => {
      if (!result.ok) return fail(result.code);
      if (socket.destroyed) return;
      open(result.grant);
    },
    (err: Error) => {
      logger.error({ correlationId, err }, 'TCP channel authorisation failed');
      fail('DB-INTERNAL');
    },
  );

  function open(grant: ChannelGrant): void {
    const targetText = `${target!.host}:${target!.port}`;
    const headers = {
      ':method': 'POST',
      ':path': '/',
      ':authority': app.externalHost,
      ':scheme': 'https',
      'x-forwarded-for': clientAddress(req.socket) ?? '',
      [APP_HEADER]: app.id,
      [REQUEST_ID_HEADER]: correlationId,
      [IDENTITY_HEADER]: encodeIdentity(grant.identity),
      [TCP_HEADER]: targetText,
    };
    let clientGone = false;
    let current: http2.ClientHttp2Stream | null = null;
    const onEarlyClose = (): void => {
      clientGone = true;
      if (current && !current.closed) current.close(NGHTTP2_CANCEL);
    };
    socket.once('close', onEarlyClose);
    // Nothing of the client's bytes is read before the 101: until the connector has dialled the app, the channel
    // fails over like an idempotent request.
    streamToGroup(
      deps.registry,
      {
        groupId: app.groupId,
        appId: app.id,
        headers,
        correlationId,
        logger,
        options: { endStream: false },
        idempotent: true,
        resendable: () => true,
        wanted: () => !clientGone && !socket.destroyed,
      },
      {
        onOpen(stream) {
          current = stream;
        },
        onFail(code) {
          fail(code);
        },
        onResponse(stream, h, tunnel) {
          const code = h[ERROR_HEADER];
          if (code !== undefined || Number(h[':status']) !== 200) {
            fail(errorCodeOr(code, 'DB-INTERNAL'));
            stream.close(NGHTTP2_CANCEL);
            return;
          }
          socket.off('close', onEarlyClose);
          pipe(stream, grant, tunnel.connectorId, targetText);
        },
      },
    );
  }

  function pipe(stream: http2.ClientHttp2Stream, grant: ChannelGrant, connectorId: string, targetText: string): void {
    const startedAt = performance.now();
    let bytesUp = 0;
    let bytesDown = 0;
    let endedBy: ChannelStats['endedBy'] | null = null;
    const ended = (who: ChannelStats['endedBy']): void => {
      endedBy ??= who;
    };
    // The client's FIN must end only its direction: the other keeps flowing until the app ends it (the HTTP server
    // made its sockets close on the client's end).
    (socket as Duplex & { allowHalfOpen: boolean }).allowHalfOpen = true;
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: ${TCP_UPGRADE_PROTOCOL}\r\nx-correlation-id: ${correlationId}\r\n\r\n`,
    );
    if (head.length > 0) {
      bytesUp += head.length;
      stream.write(head);
    }
    socket.on('data', (chunk: Buffer) => {
      bytesUp += chunk.length;
    });
    stream.on('data', (chunk: Buffer) => {
      bytesDown += chunk.length;
    });
    // Half-close both ways: each side's end ends the other side's writable half.
    relayBothWays(socket, stream);
    socket.once('end', () => ended('client'));
    stream.once('end', () => ended('app'));
    // Resets both ways: a client socket that breaks resets the stream (the connector then resets the app's socket);
    // a stream reset (the app reset its socket, the tunnel died) breaks the client's connection.
    socket.on('error', () => {
      ended('reset');
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
    });
    socket.once('close', () => {
      if (!stream.closed && !(stream.writableEnded && stream.readableEnded)) {
        ended('reset');
        stream.close(NGHTTP2_CANCEL);
      }
    });
    stream.once('close', () => {
      const clean = stream.rstCode === undefined || stream.rstCode === NGHTTP2_NO_ERROR;
      if (!clean) {
        ended('reset');
        reset(socket);
      } else if (!socket.destroyed && !socket.writableEnded) socket.end();
    });
    grant.track(socket, (code, reason) => {
      ended('revoked');
      logger.info({ correlationId, appId: app.id, code, reason }, 'continuous access evaluation closed a TCP channel');
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      reset(socket);
    });
    socket.once('close', () => {
      grant.finished({
        target: targetText,
        bytesUp,
        bytesDown,
        durationMs: Math.round(performance.now() - startedAt),
        endedBy: endedBy ?? 'reset',
        connectorId,
      });
    });
    logger.info({ correlationId, appId: app.id, target: targetText, connectorId }, 'TCP channel open');
  }
}
