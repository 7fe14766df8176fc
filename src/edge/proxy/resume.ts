import type { ServerResponse, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import http2, { type ClientHttp2Stream } from 'node:http2';
import type { Logger } from '../../lib/log.ts';
import type { Tunnel, TunnelRegistry } from '../tunnel/registry.ts';
import { streamToGroup } from './stream-to-group.ts';

/** A connector may die more than once during one very long download; beyond this the client's response is cut. */
export const MAX_RESUMES = 3;
/** Smaller bodies are over before a connector's death could matter, and skip the bookkeeping on the hot path. */
export const MIN_RESUMABLE_BYTES = 1024 * 1024;
const { NGHTTP2_CANCEL } = http2.constants;

/** What makes a 200 response resumable: its full length and a strong validator to ask for "the rest of *this*". */
export interface Resumable {
  total: number;
  validator: string;
}

/**
 * A GET answered 200 with Accept-Ranges: bytes, a Content-Length and a strong validator (an ETag that is not weak, or
 * Last-Modified) can be finished from another connector if its own dies mid-body: the edge asks for the bytes the
 * client has not had yet with `Range` + `If-Range` (RFC 9110 §14.2, §13.1.5), and checks that the 206 is the rest of
 * the same representation. Requests that carry their own Range, and bodies under 1 MiB, are left alone.
 */
export function resumable(
  method: string,
  requestHeaders: IncomingHttpHeaders,
  status: number,
  responseHeaders: IncomingHttpHeaders,
): Resumable | null {
  if (method !== 'GET' || status !== 200 || requestHeaders.range !== undefined) return null;
  if (String(responseHeaders['accept-ranges'] ?? '').toLowerCase() !== 'bytes') return null;
  const total = Number(responseHeaders['content-length']);
  if (!Number.isSafeInteger(total) || total < MIN_RESUMABLE_BYTES) return null;
  const etag = responseHeaders.etag;
  const validator = typeof etag === 'string' && !etag.startsWith('W/') ? etag : responseHeaders['last-modified'];
  return typeof validator === 'string' && validator !== '' ? { total, validator } : null;
}

export interface ResumeContext {
  registry: TunnelRegistry;
  logger: Logger;
  correlationId: string;
  groupId: string;
  appId: string;
  /** The request stream's headers as first sent (pseudo-headers included). */
  headers: OutgoingHttpHeaders;
  res: ServerResponse;
  /** Connectors already used for this request (avoided when another is usable). */
  tried: Set<string>;
}

/**
 * Streams a resumable response into the client's response, carrying on from another connector when the tunnel under
 * it dies mid-body. The client sees one uninterrupted 200.
 */
export function pipeResumable(
  first: ClientHttp2Stream,
  firstTunnel: Tunnel,
  what: Resumable,
  ctx: ResumeContext,
): void {
  const { res, logger, correlationId } = ctx;
  let sent = 0;
  let resumes = 0;
  let current = first;
  res.once('close', () => {
    if (!res.writableFinished && !current.closed) current.close(NGHTTP2_CANCEL);
  });
  follow(first, firstTunnel);

  function follow(stream: ClientHttp2Stream, tunnel: Tunnel): void {
    current = stream;
    stream.on('data', (chunk: Buffer) => {
      sent += chunk.length;
    });
    stream.on('error', () => {
      /* handled at close */
    });
    stream.pipe(res, { end: false });
    stream.once('end', () => {
      if (sent >= what.total) res.end();
    });
    stream.once('close', () => {
      if (res.writableEnded || res.destroyed) return;
      if (stream.readableEnded && sent >= what.total) return;
      stream.unpipe(res);
      if (resumes >= MAX_RESUMES || sent >= what.total) return void res.destroy();
      resumes++;
      logger.warn(
        { correlationId, connectorId: tunnel.connectorId, sent, total: what.total, resumes },
        'download cut mid-body: resuming from another connector',
      );
      resumeFrom(tunnel);
    });
  }

  function resumeFrom(lost: Tunnel): void {
    ctx.tried.add(lost.connectorId);
    ctx.tried.add(lost.processKey);
    // Another connector of the group, through the one request path (stream-to-group.ts): a range GET, idempotent.
    streamToGroup(
      ctx.registry,
      {
        groupId: ctx.groupId,
        appId: ctx.appId,
        correlationId,
        logger: ctx.logger,
        tried: ctx.tried,
        headers: { ...ctx.headers, range: `bytes=${sent}-`, 'if-range': what.validator },
        options: { endStream: true },
        idempotent: true,
        resendable: () => true,
        wanted: () => !res.destroyed && !res.writableEnded,
      },
      {
        onOpen(stream) {
          current = stream;
        },
        onFail() {
          logger.warn({ correlationId, sent, total: what.total }, 'download cut mid-body: no connector to resume from');
          res.destroy();
        },
        onResponse(stream, headers, tunnel) {
          // Only the rest of the same representation will do: a 200 (changed since) or another range cannot be spliced in.
          const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(headers['content-range'] ?? ''));
          if (
            Number(headers[':status']) !== 206 ||
            !range ||
            Number(range[1]) !== sent ||
            Number(range[3]) !== what.total
          ) {
            logger.warn(
              { correlationId, status: headers[':status'], contentRange: headers['content-range'] },
              'download cannot be resumed: the backend did not send the rest of the same representation',
            );
            stream.close(NGHTTP2_CANCEL);
            return void res.destroy();
          }
          logger.info({ correlationId, connectorId: tunnel.connectorId, from: sent }, 'download resumed');
          follow(stream, tunnel);
        },
      },
    );
  }
}
