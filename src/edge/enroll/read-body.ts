import type { IncomingMessage } from 'node:http';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';

/**
 * Reads a request body up to `limit` bytes within `timeoutMs`. Refuses early on a declared Content-Length over the
 * limit and stops reading as soon as the running total passes it (DB-ENROLL-BODY-TOO-LARGE); a body that does not
 * arrive in time is DB-HTTP-TIMEOUT.
 */
export function readBody(req: IncomingMessage, limit: number, timeoutMs: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(new DrawbridgeError('DB-ENROLL-BODY-TOO-LARGE', `limit ${limit} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const finish = (err: Error | null, body?: Buffer): void => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
      if (err) {
        req.pause();
        reject(err);
      } else {
        resolve(body!);
      }
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limit) finish(new DrawbridgeError('DB-ENROLL-BODY-TOO-LARGE', `limit ${limit} bytes`));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(null, Buffer.concat(chunks, total));
    const onError = (err: Error): void => finish(err);
    const onAborted = (): void => finish(new Error('client aborted the request'));
    const timer = setTimeout(
      () => finish(new DrawbridgeError('DB-HTTP-TIMEOUT', `body not received within ${timeoutMs} ms`)),
      timeoutMs,
    );
    timer.unref();
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}
