import type { ClientHttp2Session, ClientHttp2Stream, ServerHttp2Stream } from 'node:http2';
import {
  CONTROL_CONFIG_PATH,
  CONTROL_EDGE_EVENT_PATH,
  CONTROL_EVENTS_PATH,
  CONTROL_HELLO_PATH,
  CONTROL_RENEW_CSR_PATH,
  CONTROL_RENEW_INSTALL_PATH,
  CONTROL_STATUS_PATH,
  type ConnectorConfig,
  type ConnectorEvent,
  type ConnectorHello,
  type ConnectorStatusReport,
  type EdgeEvent,
  type EdgeEventAck,
  type RenewalCsr,
  type RenewalInstall,
} from './protocol.ts';

/** Control messages ride ordinary streams of the tunnel as small JSON bodies. */

const MAX_CONTROL_BYTES = 4 * 1024 * 1024;

/** A control request the connector did not answer 200 (`status` 0: no answer at all). */
export class ControlRequestError extends Error {
  readonly status: number;
  constructor(path: string, status: number) {
    super(`control ${path} failed (status ${status || 'none'})`);
    this.status = status;
  }
}

/** Edge side: send a control request and read the JSON answer. */
export function controlRequest<T>(
  session: ClientHttp2Session,
  path: string,
  body: unknown,
  timeoutMs = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json' });
    const timer = setTimeout(() => stream.close(), timeoutMs);
    let status = 0;
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CONTROL_BYTES) stream.close();
      else chunks.push(chunk);
    });
    stream.on('close', () => {
      clearTimeout(timer);
      if (status !== 200) return reject(new ControlRequestError(path, status));
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
      } catch (err) {
        reject(err);
      }
    });
    stream.on('error', () => {
      /* reported through close */
    });
    stream.end(JSON.stringify(body));
  });
}

export const hello = (session: ClientHttp2Session): Promise<ConnectorHello> =>
  controlRequest(session, CONTROL_HELLO_PATH, {});
export const connectorStatus = (session: ClientHttp2Session, timeoutMs = 5_000): Promise<ConnectorStatusReport> =>
  controlRequest(session, CONTROL_STATUS_PATH, {}, timeoutMs);
export const pushConfig = (session: ClientHttp2Session, config: ConnectorConfig): Promise<{ configVersion: number }> =>
  controlRequest(session, CONTROL_CONFIG_PATH, config);
/** Edge side: one `EdgeEvent` down the tunnel; null when the connector does not understand edge events (an older one). */
export async function sendEdgeEvent(
  session: ClientHttp2Session,
  event: EdgeEvent,
  timeoutMs = 5_000,
): Promise<EdgeEventAck | null> {
  try {
    return await controlRequest<EdgeEventAck>(session, CONTROL_EDGE_EVENT_PATH, event, timeoutMs);
  } catch (err) {
    if (err instanceof ControlRequestError && err.status === 404) return null;
    throw err;
  }
}
export const requestRenewalCsr = (session: ClientHttp2Session): Promise<RenewalCsr> =>
  controlRequest(session, CONTROL_RENEW_CSR_PATH, {});
export const installRenewal = (
  session: ClientHttp2Session,
  install: RenewalInstall,
): Promise<{ serial: string; notAfter: string }> => controlRequest(session, CONTROL_RENEW_INSTALL_PATH, install);

/**
 * Edge side: open the tunnel's event stream and hand each `ConnectorEvent` to `onEvent` as it arrives. The stream
 * lives as long as the tunnel (or until the returned function closes it); a connector that does not know the path
 * answers 404 and sends no events.
 */
export function subscribeEvents(session: ClientHttp2Session, onEvent: (event: ConnectorEvent) => void): () => void {
  let stream: ClientHttp2Stream;
  try {
    stream = session.request({ ':method': 'POST', ':path': CONTROL_EVENTS_PATH }, { endStream: true });
  } catch {
    return () => {}; // the session is already closing
  }
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (text: string) => {
    pending += text;
    if (pending.length > MAX_CONTROL_BYTES) return void stream.close();
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        const event = JSON.parse(line) as ConnectorEvent;
        if (typeof event?.type === 'string') onEvent(event);
      } catch {
        /* a malformed line is skipped; the next one may still be understood */
      }
    }
  });
  stream.on('error', () => {
    /* ends with the tunnel */
  });
  return () => {
    if (!stream.closed) stream.close();
  };
}

/** Connector side: answer the event stream and return a function that sends one event down it. */
export function openEvents(stream: ServerHttp2Stream): (event: ConnectorEvent) => boolean {
  stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
  return (event) => {
    if (stream.destroyed || stream.writableEnded) return false;
    stream.write(`${JSON.stringify(event)}\n`);
    return true;
  };
}

/** Connector side: read a control request body (bounded) as JSON. */
export function readControlBody(stream: ServerHttp2Stream): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_CONTROL_BYTES) {
        stream.close();
        reject(new Error('control body too large'));
      } else chunks.push(chunk);
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
