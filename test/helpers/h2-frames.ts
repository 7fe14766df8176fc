import tls from 'node:tls';

/**
 * Raw HTTP/2 frames for tests that must send what no well-behaved client sends (rapid reset, CONTINUATION floods):
 * RFC 9113 §4.1 framing and RFC 7541 literal header fields, nothing more.
 */
export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 0x1, END_HEADERS: 0x4, ACK: 0x1 } as const;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** A header block of literal fields without indexing, new names (RFC 7541 §6.2.2), no Huffman: simple and stateless. */
export function headerBlock(fields: [string, string][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of fields) parts.push(Buffer.from([0x00]), stringLiteral(name), stringLiteral(value));
  return Buffer.concat(parts);
}

function stringLiteral(text: string): Buffer {
  const bytes = Buffer.from(text);
  return Buffer.concat([integer(bytes.length, 7, 0x00), bytes]);
}

function integer(value: number, prefixBits: number, high: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([high | value]);
  const out = [high | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return Buffer.from(out);
}

export function rstStream(streamId: number, code = 8 /* CANCEL */): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, payload);
}

export interface RawH2 {
  socket: tls.TLSSocket;
  /** Frames the server sent so far, by type. */
  received: { type: number; flags: number; streamId: number; payload: Buffer }[];
  /** Resolves when the server closed the connection (or it failed). */
  closed: Promise<void>;
  /** A GOAWAY's error code, once one came. */
  goawayCode(): number | null;
  /** The server reset the connection: it closed with bytes of ours unread, and the kernel may drop what it sent last. */
  resetByPeer(): boolean;
  lastError(): string;
}

/** Opens TLS with ALPN h2 to `host` on 127.0.0.1:`port`, sends the preface and an empty SETTINGS, parses what comes back. */
export async function connectRawH2(port: number, host: string, ca: string): Promise<RawH2> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: host, ca, ALPNProtocols: ['h2'] });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  if (socket.alpnProtocol !== 'h2') throw new Error(`server chose ${socket.alpnProtocol}, not h2`);
  const received: RawH2['received'] = [];
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9) {
      const length = buffered.readUIntBE(0, 3);
      if (buffered.length < 9 + length) break;
      const f = {
        type: buffered[3],
        flags: buffered[4],
        streamId: buffered.readUInt32BE(5) & 0x7fffffff,
        payload: buffered.subarray(9, 9 + length),
      };
      buffered = buffered.subarray(9 + length);
      if (f.type === FRAME.SETTINGS && !(f.flags & FLAG.ACK)) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      if (received.length < 100_000) received.push(f);
    }
  });
  let reset = false;
  let lastError = '';
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') reset = true;
      lastError = err.code ?? err.message;
    });
  });
  socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
  return {
    socket,
    received,
    closed,
    goawayCode() {
      const g = received.find((f) => f.type === FRAME.GOAWAY);
      return g ? g.payload.readUInt32BE(4) : null;
    },
    resetByPeer: () => reset,
    lastError: () => lastError,
  };
}
