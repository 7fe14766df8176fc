import type { ClientHttp2Session, ServerHttp2Stream } from 'node:http2';
import { CONTROL_CONFIG_PATH, CONTROL_HELLO_PATH, CONTROL_STATUS_PATH, type ConnectorConfig, type ConnectorHello, type ConnectorStatusReport } from './protocol.ts';

/** Control messages ride ordinary streams of the tunnel as small JSON bodies. */

const MAX_CONTROL_BYTES = 4 * 1024 * 1024;

/** Edge side: send a control request and read the JSON answer. */
export function controlRequest<T>(session: ClientHttp2Session, path: string, body: unknown, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json' });
    const timer = setTimeout(() => stream.close(), timeoutMs);
    let status = 0;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('response', (headers) => { status = Number(headers[':status']); });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CONTROL_BYTES) stream.close();
      else chunks.push(chunk);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      if (status !== 200) return reject(new Error(`control ${path} failed (status ${status || 'none'})`));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
      } catch (err) {
        reject(err);
      }
    });
    stream.on('error', () => { /* reported through close */ });
    stream.end(JSON.stringify(body));
  });
}

export const hello = (session: ClientHttp2Session): Promise<ConnectorHello> => controlRequest(session, CONTROL_HELLO_PATH, {});
export const connectorStatus = (session: ClientHttp2Session, timeoutMs = 5_000): Promise<ConnectorStatusReport> =>
  controlRequest(session, CONTROL_STATUS_PATH, {}, timeoutMs);
export const pushConfig = (session: ClientHttp2Session, config: ConnectorConfig): Promise<{ configVersion: number }> =>
  controlRequest(session, CONTROL_CONFIG_PATH, config);

/** Connector side: read a control request body (bounded) as JSON. */
export function readControlBody(stream: ServerHttp2Stream): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CONTROL_BYTES) { stream.close(); reject(new Error('control body too large')); } else chunks.push(chunk);
    });
    stream.on('end', () => {
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve(text ? JSON.parse(text) : {});
      } catch (err) {
        reject(err);
      }
    });
    stream.on('error', reject);
  });
}

export function respondJson(stream: ServerHttp2Stream, status: number, body: unknown): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status, 'content-type': 'application/json' });
  stream.end(JSON.stringify(body));
}
