import { stopRelay } from '../../lib/relay.ts';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';

const { NGHTTP2_CANCEL } = http2.constants;

/**
 * When a tunnel stream carrying a WebSocket dies (connector killed or drained), the edge still holds the client's
 * socket and can end it properly: a close frame (1001 going away, 1011 unexpected condition) instead of a reset,
 * so browsers report a clean close and reconnect. A close frame may only go between two frames, so the edge follows
 * the server-to-client frame boundaries of the bytes it relays (headers only; payloads are skipped, never copied).
 */
export class WebSocketFrameTracker {
  #header: number[] = [];
  #remaining = 0;
  #sawClose = false;

  /** True between frames: a close frame written now is well-formed on the wire. */
  get atBoundary(): boolean {
    return this.#remaining === 0 && this.#header.length === 0;
  }

  /** The server already sent its close frame: nothing more may follow. */
  get sawClose(): boolean {
    return this.#sawClose;
  }

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= n;
        i += n;
        continue;
      }
      this.#header.push(chunk[i++]);
      if (this.#header.length < headerLength(this.#header)) continue;
      const h = this.#header;
      if ((h[0] & 0x0f) === 0x8) this.#sawClose = true;
      const len7 = h[1] & 0x7f;
      const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      let length = len7;
      if (ext > 0) {
        length = 0;
        for (let k = 0; k < ext; k++) length = length * 256 + h[2 + k];
      }
      this.#header = [];
      this.#remaining = length;
    }
  }
}

function headerLength(h: number[]): number {
  if (h.length < 2) return 2;
  const len7 = h[1] & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((h[1] & 0x80) !== 0 ? 4 : 0);
}

export const WS_GOING_AWAY = 1001;
export const WS_POLICY_VIOLATION = 1008;
export const WS_INTERNAL_ERROR = 1011;

/**
 * Access was withdrawn under an open WebSocket (continuous access evaluation): stop relaying both ways, cancel the
 * tunnel stream, and tell the client with close 1008 and the reason — between two frames; a client caught mid-frame
 * is cut instead (a close frame there would be garbage on the wire).
 */
export function closeForPolicy(
  socket: Duplex,
  tunnelStream: Duplex & { close?(code?: number): void },
  frames: WebSocketFrameTracker | null,
  reason: string,
): void {
  if (socket.destroyed || socket.writableEnded) return;
  stopRelay(socket, tunnelStream);
  tunnelStream.close?.(NGHTTP2_CANCEL);
  if (!frames || !frames.atBoundary || frames.sawClose) return void socket.destroy();
  socket.end(closeFrame(WS_POLICY_VIOLATION, reason));
  setTimeout(() => socket.destroy(), 2_000).unref();
}

/** An unmasked (server-to-client) close frame with a status code and a short reason. */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason.slice(0, 100), 'utf8');
  const frame = Buffer.alloc(4 + text.length);
  frame[0] = 0x88;
  frame[1] = 2 + text.length;
  frame.writeUInt16BE(code, 2);
  text.copy(frame, 4);
  return frame;
}
