import type { ServerHttp2Stream } from 'node:http2';
import type { Duplex } from 'node:stream';
import http2 from 'node:http2';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';
import { UPGRADE_STATUS_HEADER } from '../../tunnel/protocol.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { withoutHopByHop } from '../../lib/http-headers.ts';
import type { Logger } from '../../lib/log.ts';
import type { BackendPools } from './backend-pool.ts';
import { backendErrorCode } from './backend-errors.ts';
import { peerOf, relayBothWays } from '../../lib/relay.ts';

export interface UpgradeInput {
  stream: ServerHttp2Stream;
  app: ConnectorAppConfig;
  pools: BackendPools;
  path: string;
  method: string;
  headers: Record<string, unknown>;
  protocol: string;
  correlationId: string;
  logger: Logger;
  refuse(stream: ServerHttp2Stream, code: ErrorCode, detail?: string): void;
}

/**
 * WebSocket (or any HTTP/1.1 upgrade) to the backend; after the 101 the tunnel stream carries raw bytes. A backend
 * that declines (any answer but 101) has its answer relayed as a plain response: undici's upgrade() only reports
 * "bad upgrade" for that, so this dispatches with a handler of its own.
 */
export function forwardUpgrade(input: UpgradeInput): void {
  const { stream, app, pools, logger, correlationId } = input;
  const fromBackend = (rawHeaders: Buffer[]): Record<string, string | string[]> =>
    withoutHopByHop(parseRawHeaders(rawHeaders), (name) => name.startsWith('x-drawbridge-')) as Record<
      string,
      string | string[]
    >;
  let abort: ((err: Error) => void) | null = null;
  const abortOnClose = (): void => abort?.(new Error('the edge closed the stream'));
  stream.on('close', abortOnClose);
  // undici writes Connection/Upgrade itself from `upgrade` (and refuses them in headers).
  pools.for(app).dispatch(
    {
      path: input.path,
      method: input.method as 'GET',
      headers: input.headers as Record<string, string>,
      upgrade: input.protocol,
    },
    {
      onConnect(abortRequest: (err: Error) => void) {
        abort = abortRequest;
      },
      onUpgrade(_statusCode: number, rawHeaders: Buffer[], socket: Duplex) {
        abort = null;
        // From here on the pair lives as long as the WebSocket, idle for hours perhaps: it holds only shared
        // listeners (nothing of this request's closures, headers or app).
        stream.removeListener('close', abortOnClose);
        if (stream.destroyed) return void socket.destroy();
        stream.respond({ ':status': 200, ...fromBackend(rawHeaders), [UPGRADE_STATUS_HEADER]: '101' });
        relayBothWays(socket, stream);
        socket.on('error', cancelStream);
        socket.on('close', endStream);
        stream.on('error', destroySocket);
        stream.on('close', destroySocket);
      },
      onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void) {
        if (stream.destroyed) return false;
        // Declined: the edge relays this answer as it is and closes the client's connection after it.
        stream.respond({ ':status': statusCode, ...fromBackend(rawHeaders) });
        stream.on('drain', resume);
        return true;
      },
      onData(chunk: Buffer) {
        return stream.destroyed ? false : stream.write(chunk);
      },
      onComplete() {
        if (!stream.destroyed) stream.end();
      },
      onError(err: NodeJS.ErrnoException) {
        if (stream.destroyed) return;
        if (stream.headersSent) return void stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        const code = backendErrorCode(err);
        logger.warn({ correlationId, appId: app.id, code, err: err.message }, 'backend upgrade failed');
        input.refuse(stream, code, err.message);
      },
    } as unknown as Parameters<ReturnType<BackendPools['for']>['dispatch']>[1],
  );
}

function cancelStream(this: Duplex): void {
  (peerOf(this) as ServerHttp2Stream).close(http2.constants.NGHTTP2_CANCEL);
}

function endStream(this: Duplex): void {
  const stream = peerOf(this) as ServerHttp2Stream;
  if (!stream.closed) stream.end();
}

function destroySocket(this: Duplex): void {
  peerOf(this).destroy();
}

function parseRawHeaders(raw: Buffer[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1').toLowerCase();
    const value = raw[i + 1].toString('latin1');
    const existing = headers[name];
    headers[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return headers;
}
