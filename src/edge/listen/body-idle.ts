import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../lib/log.ts';
import { newCorrelationId } from '../../lib/ids.ts';
import { clientAddress } from './client-address.ts';
import { respondError } from '../proxy/respond-error.ts';
import { abortRequest } from '../proxy/request-abort.ts';
import { hasRequestBody } from '../proxy/request-headers.ts';

/** RD Gateway's channels are request bodies that live for hours and send sporadically (the connector's LONG_LIVED_METHODS). */
const LONG_LIVED_METHODS = new Set(['RDG_IN_DATA', 'RDG_OUT_DATA']);

interface BodyIdlePolicy {
  timeoutMs: number;
  logger: Logger;
}

const policies = new WeakMap<IncomingMessage, BodyIdlePolicy>();

/** The edge's entry point sets the body idle timeout of each request it admits (limits.bodyIdleTimeoutMs). */
export function setBodyIdleTimeout(req: IncomingMessage, timeoutMs: number, logger: Logger): void {
  if (timeoutMs > 0) policies.set(req, { timeoutMs, logger });
}

/**
 * A request body that stalls holds a tunnel stream and, at the connector, a backend connection: slow uploads from
 * a few clients could take every connection of an app. Once the proxy reads the body (`method` is the client's own,
 * RD Gateway's channels are exempt), a body that sends nothing for the timeout is abandoned: the client gets 408
 * DB-HTTP-TIMEOUT when nothing was answered yet, the request is aborted (its tunnel stream is reset, so the backend
 * sees an aborted request, never a complete one), and the connection closes.
 *
 * The clock only runs while the edge is taking the body: not before the proxy reads it, not while the tunnel's flow
 * control holds it back (the request is paused), so a slow backend never counts against the client.
 */
export function limitBodyIdle(req: IncomingMessage, res: ServerResponse, method: string): void {
  const policy = policies.get(req);
  if (!policy || LONG_LIVED_METHODS.has(method) || req.complete) return;
  if (!hasRequestBody(req)) return;
  const timer = setTimeout(check, policy.timeoutMs);
  const onData = (): void => {
    timer.refresh();
  };
  // A 'data' listener added before the proxy reads the body would start the flow and lose the first chunks.
  const watchData = (): void => {
    req.on('data', onData);
  };
  if (req.readableFlowing === true) watchData();
  else req.once('resume', watchData);
  const stop = (): void => {
    clearTimeout(timer);
    req.removeListener('data', onData);
    req.removeListener('resume', watchData);
  };
  req.once('end', stop);
  req.once('close', stop);
  res.once('close', stop);

  function check(): void {
    if (req.complete || req.destroyed || res.destroyed) return stop();
    // Not read yet, paused by backpressure, or data waiting in the request's buffer: the edge is not taking the body.
    if (req.readableFlowing !== true || req.readableLength > 0) return void timer.refresh();
    stop();
    const correlationId = newCorrelationId();
    policy!.logger.info(
      {
        correlationId,
        code: 'DB-HTTP-TIMEOUT',
        method,
        remote: clientAddress(req.socket),
        timeoutMs: policy!.timeoutMs,
      },
      'request body idle: request aborted',
    );
    if (res.headersSent) {
      abortRequest(req);
      res.destroy();
      return;
    }
    // Answer first: the aborted stream then finds the response written and reports nothing (not a tunnel failure).
    res.shouldKeepAlive = false;
    respondError(
      res,
      'DB-HTTP-TIMEOUT',
      correlationId,
      `no byte of the request body arrived for ${policy!.timeoutMs / 1000} s`,
    );
    abortRequest(req);
  }
}
