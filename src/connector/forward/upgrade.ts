import type { ServerHttp2Stream } from 'node:http2';
import http2 from 'node:http2';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';
import { UPGRADE_STATUS_HEADER } from '../../tunnel/protocol.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import { withoutHopByHop } from '../../lib/http-headers.ts';
import type { Logger } from '../../lib/log.ts';
import type { BackendPools } from './backend-pool.ts';
import { backendErrorCode } from './backend-errors.ts';

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

/** WebSocket (or any HTTP/1.1 upgrade) to the backend; after the 101 the tunnel stream carries raw bytes. */
export function forwardUpgrade(input: UpgradeInput): void {
  const { stream, app, pools, logger, correlationId } = input;
  // undici writes Connection/Upgrade itself from `protocol` (and refuses them in headers).
  const headers = input.headers as Record<string, string>;
  pools.for(app).upgrade({ path: input.path, method: input.method as 'GET', headers, protocol: input.protocol })
    .then(({ headers: responseHeaders, socket }) => {
      if (stream.destroyed) return socket.destroy();
      stream.respond({ ':status': 200, ...withoutHopByHop(responseHeaders as Record<string, string>, (name) => name.startsWith('x-drawbridge-')), [UPGRADE_STATUS_HEADER]: '101' });
      socket.on('error', () => stream.close(http2.constants.NGHTTP2_CANCEL));
      stream.on('error', () => socket.destroy());
      stream.once('close', () => socket.destroy());
      socket.once('close', () => { if (!stream.closed) stream.end(); });
      socket.pipe(stream);
      stream.pipe(socket);
    }, (err: NodeJS.ErrnoException) => {
      const code = backendErrorCode(err);
      logger.warn({ correlationId, appId: app.id, code, err: err.message }, 'backend upgrade failed');
      input.refuse(stream, code, err.message);
    });
}
