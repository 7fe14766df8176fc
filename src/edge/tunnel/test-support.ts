import { EventEmitter } from 'node:events';
import type { ClientHttp2Session, OutgoingHttpHeaders } from 'node:http2';
import { Tunnel } from './tunnel.ts';

/**
 * Socket-free stand-ins for the HTTP/2 session and streams under a tunnel, for unit tests of routing (registry,
 * stream-to-group): they record what was opened and let a test answer, reset or close each stream.
 */
export class FakeStream extends EventEmitter {
  closed = false;
  destroyed = false;
  rstCode: number | undefined = undefined;
  readableEnded = false;
  readonly headers: OutgoingHttpHeaders;
  constructor(headers: OutgoingHttpHeaders) {
    super();
    this.headers = headers;
  }
  /** Closes from this side (the edge cancelling). */
  close(code = 0): void {
    if (this.closed) return;
    this.closed = true;
    this.rstCode = code;
    queueMicrotask(() => this.emit('close'));
  }
  /** The connector answered with these headers. */
  answer(headers: Record<string, string | number>): void {
    this.emit('response', headers);
  }
  /** The peer reset the stream (or the tunnel died under it). */
  reset(code: number): void {
    this.closed = true;
    this.rstCode = code;
    this.emit('close');
  }
  pipe(): this {
    return this;
  }
  unpipe(): this {
    return this;
  }
}

export class FakeSession extends EventEmitter {
  closed = false;
  destroyed = false;
  refuse = false;
  readonly streams: FakeStream[] = [];
  /** What the connector has sent so far; a test advances it to show traffic. */
  readonly socket = { bytesRead: 0 };
  /** PINGs sent and not answered yet: a test answers them with answerPings(). */
  readonly pings: ((err: Error | null, durationMs: number) => void)[] = [];
  ping(callback: (err: Error | null, durationMs: number) => void): boolean {
    this.pings.push(callback);
    return true;
  }
  answerPings(durationMs = 1): void {
    for (const callback of this.pings.splice(0)) callback(null, durationMs);
  }
  /** Takes headers as Node's session does: an object, or the flat [name, value, …] list the tunnel sends. */
  request(headers: OutgoingHttpHeaders | string[]): FakeStream {
    if (this.refuse || this.closed) throw new Error('ERR_HTTP2_INVALID_SESSION');
    let object: OutgoingHttpHeaders = headers as OutgoingHttpHeaders;
    if (Array.isArray(headers)) {
      object = {};
      for (let i = 0; i < headers.length; i += 2) object[headers[i]] = headers[i + 1];
    }
    const stream = new FakeStream(object);
    this.streams.push(stream);
    return stream;
  }
  /** Graceful close (GOAWAY): marked closed, 'close' once the test says so with destroy(). */
  close(): void {
    this.closed = true;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.closed = true;
    this.destroyed = true;
    this.emit('close');
  }
}

let counter = 0;

/** A tunnel of `connectorId` in `groupId` that knows `apps`, on a fake session (held by `process`, when given). */
export function fakeTunnel(
  connectorId: string,
  groupId: string,
  apps: string[] = ['app'],
  process: { pid: number; worker: number } | null = null,
): { tunnel: Tunnel; session: FakeSession } {
  const session = new FakeSession();
  const tunnel = new Tunnel({
    id: `tun_${++counter}`,
    connectorId,
    tenantId: 'tnt',
    certSerial: 'ab',
    groupId,
    session: session as unknown as ClientHttp2Session,
    address: '127.0.0.1',
    version: 'test',
    hostname: 'test',
    ...process,
  });
  tunnel.acknowledge(1, apps);
  return { tunnel, session };
}
