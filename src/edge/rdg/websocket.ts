/**
 * The server side of RFC 6455 as far as the RD Gateway's WebSocket transport needs it: the handshake answer, and
 * frames in both directions (binary data, ping/pong, close). Clients mask their frames; the server never does.
 */
import { createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const OPCODE = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;
/** The gateway's packets are at most ~64 KiB; a frame far larger than that is refused rather than buffered. */
export const MAX_FRAME_PAYLOAD = 1 << 20;

/** Sec-WebSocket-Accept for the client's key, taken as sent (FreeRDP's keys are not always base64 of 16 bytes). */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

export type Frame = { opcode: number; fin: boolean; payload: Buffer };

export class WebSocketProtocolError extends Error {}

/** Reads a client's frames from a byte stream. */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Frame[] = [];
    for (;;) {
      const frame = this.#next();
      if (!frame) return out;
      out.push(frame);
    }
  }

  #next(): Frame | null {
    const b = this.#buf;
    if (b.length < 2) return null;
    const fin = (b[0] & 0x80) !== 0;
    const opcode = b[0] & 0x0f;
    const masked = (b[1] & 0x80) !== 0;
    if (!masked) throw new WebSocketProtocolError('a client frame without a mask');
    let length = b[1] & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return null;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return null;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(MAX_FRAME_PAYLOAD)) throw new WebSocketProtocolError('frame too large');
      length = Number(big);
      at = 10;
    }
    if (length > MAX_FRAME_PAYLOAD) throw new WebSocketProtocolError('frame too large');
    if (b.length < at + 4 + length) return null;
    const mask = b.subarray(at, at + 4);
    const payload = Buffer.from(b.subarray(at + 4, at + 4 + length));
    for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
    this.#buf = b.subarray(at + 4 + length);
    return { opcode, fin, payload };
  }
}

/** One unmasked frame from the server. */
export function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 0x10000 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (n < 126) head[1] = n;
  else if (n < 0x10000) {
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

/** What a client writes (masked): for the tests' scripted client. */
export function encodeClientFrame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const head = n < 126 ? Buffer.alloc(2) : n < 0x10000 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (n < 126) head[1] = 0x80 | n;
  else if (n < 0x10000) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(n, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

/** Reads a server's (unmasked) frames: for the tests' scripted client. */
export function readServerFrames(buf: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let b = buf;
  for (;;) {
    if (b.length < 2) break;
    let length = b[1] & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) break;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) break;
      length = Number(b.readBigUInt64BE(2));
      at = 10;
    }
    if (b.length < at + length) break;
    frames.push({ opcode: b[0] & 0x0f, fin: (b[0] & 0x80) !== 0, payload: b.subarray(at, at + length) });
    b = b.subarray(at + length);
  }
  return { frames, rest: b };
}
