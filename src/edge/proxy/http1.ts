import type https from 'node:https';
import type { IncomingMessage, Server, ServerResponse, ServerOptions } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { serveHttp1, type RefusalReason } from '../../lib/http1/extension-methods.ts';
import { renderError } from '../../errors/render.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { Logger } from '../../lib/log.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import { clientAddress } from '../listen/client-address.ts';
import { respondError, statusLine } from './respond-error.ts';
import { abortRequest } from './request-abort.ts';

const REFUSAL_CODES: Record<RefusalReason, ErrorCode> = {
  malformed: 'DB-HTTP-BAD-REQUEST',
  'extension-method-not-at-boundary': 'DB-HTTP-EXTENSION-METHOD-PIPELINED',
  'headers-too-large': 'DB-HTTP-HEADERS-TOO-LARGE',
  'uri-too-long': 'DB-HTTP-URI-TOO-LONG',
  timeout: 'DB-HTTP-TIMEOUT',
  connect: 'DB-HTTP-METHOD-NOT-SUPPORTED',
};

export interface EdgeHttp1Options {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  serverOptions: ServerOptions;
  logger: Logger;
}

/**
 * The public server's HTTP/1.1: Node's strict parser frames every byte (lib/http1), extension methods such as
 * RDG_OUT_DATA are carried, and whatever the parser refuses gets a catalogue code instead of Node's bare answers.
 */
export function serveEdgeHttp1(server: https.Server, options: EdgeHttp1Options): { sibling: Server } {
  const { logger } = options;
  return serveHttp1(server, 'secureConnection', {
    handler: options.handler,
    onUpgrade: options.onUpgrade,
    serverOptions: options.serverOptions,
    handlesExpect: true,
    maxHeadBytes: options.serverOptions.maxHeaderSize ?? 16_384,
    refuse(socket, reason, err) {
      const code = REFUSAL_CODES[reason];
      const correlationId = newCorrelationId();
      logger.info(
        { correlationId, code, parserError: err.code, remote: clientAddress(socket as Socket) },
        'malformed request refused',
      );
      const page = renderError(code, correlationId, 'text/plain');
      socket.end(
        `${statusLine(page.status)}\r\ncontent-type: ${page.contentType}\r\ncontent-length: ${Buffer.byteLength(page.body)}\r\n` +
          `x-correlation-id: ${correlationId}\r\nx-drawbridge-error: ${code}\r\nconnection: close\r\n\r\n${page.body}`,
      );
      lingerThenClose(socket);
    },
    onBrokenBody(req, res, err) {
      abortRequest(req);
      if (err.code === 'ECONNRESET' || res.headersSent || res.destroyed) return void res.destroy();
      const correlationId = newCorrelationId();
      logger.info(
        { correlationId, code: 'DB-HTTP-BAD-REQUEST', parserError: err.code, remote: clientAddress(req.socket) },
        'malformed request body: request aborted',
      );
      res.shouldKeepAlive = false;
      respondError(res, 'DB-HTTP-BAD-REQUEST', correlationId, 'the request body is malformed');
    },
  });
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
