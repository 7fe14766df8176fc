/**
 * The Remote Desktop Gateway's HTTP transport packets ([MS-TSGU] 2.2.10): every packet starts with an 8-byte header
 * (type u16, reserved u16, packetLength u32 counting the header), little-endian, strings UTF-16LE with a byte length
 * in front. Written from the specification; only what a gateway server reads or writes is here.
 */

export const PKT = {
  HANDSHAKE_REQUEST: 0x01,
  HANDSHAKE_RESPONSE: 0x02,
  EXTENDED_AUTH_MSG: 0x03,
  TUNNEL_CREATE: 0x04,
  TUNNEL_RESPONSE: 0x05,
  TUNNEL_AUTH: 0x06,
  TUNNEL_AUTH_RESPONSE: 0x07,
  CHANNEL_CREATE: 0x08,
  CHANNEL_RESPONSE: 0x09,
  DATA: 0x0a,
  SERVICE_MESSAGE: 0x0b,
  REAUTH_MESSAGE: 0x0c,
  KEEPALIVE: 0x0d,
  CLOSE_CHANNEL: 0x10,
  CLOSE_CHANNEL_RESPONSE: 0x11,
} as const;

/** HTTP_EXTENDED_AUTH: `PAA` carries a pluggable-authentication cookie (our gateway access token). */
export const EXTENDED_AUTH = { NONE: 0x0, SC: 0x1, PAA: 0x2, SSPI_NTLM: 0x4 } as const;
/** HTTP_CAPABILITY_TYPE flags the server advertises in its tunnel response. */
export const CAPABILITY = {
  QUAR_SOH: 0x1,
  IDLE_TIMEOUT: 0x2,
  MESSAGING_CONSENT_SIGN: 0x4,
  MESSAGING_SERVICE_MSG: 0x8,
  REAUTH: 0x10,
  UDP_TRANSPORT: 0x20,
} as const;
/** HTTP_TUNNEL_PACKET_FIELDS_PRESENT_FLAGS. */
const TUNNEL_FIELD_PAA_COOKIE = 0x1;
/** HTTP_TUNNEL_RESPONSE_FIELDS_PRESENT_FLAGS. */
const TUNNEL_RESPONSE_FIELD = { TUNNEL_ID: 0x1, CAPS: 0x2 } as const;
/** HTTP_TUNNEL_AUTH_RESPONSE_FIELDS_PRESENT_FLAGS. */
const TUNNEL_AUTH_RESPONSE_FIELD = { REDIR_FLAGS: 0x1, IDLE_TIMEOUT: 0x2 } as const;
/** HTTP_TUNNEL_REDIR_FLAGS: device redirection is the RDP host's business; the gateway disables none. */
export const REDIR_ENABLE_ALL = 0x80000000;
const CHANNEL_RESPONSE_FIELD_CHANNEL_ID = 0x1;

/** HRESULTs the server answers with; a client treats any failure code as a refusal. */
export const HRESULT = {
  OK: 0,
  E_PROXY_INTERNALERROR: 0x800759d8,
  E_PROXY_RAP_ACCESSDENIED: 0x800759da,
  E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED: 0x800759f8,
} as const;

export const HEADER_LENGTH = 8;
/** No legitimate packet comes near this (a data packet carries at most 64 KiB); larger is a broken or hostile peer. */
export const MAX_PACKET_LENGTH = 0x10000 + 64;

export type ClientPacket =
  | { type: 'handshake'; versionMajor: number; versionMinor: number; clientVersion: number; extendedAuth: number }
  | { type: 'tunnel-create'; capabilities: number; paaCookie: string | null }
  | { type: 'tunnel-auth'; clientName: string }
  | { type: 'channel-create'; resources: string[]; alternatives: string[]; port: number; protocol: number }
  | { type: 'data'; data: Buffer }
  | { type: 'keepalive' }
  | { type: 'close-channel'; status: number }
  | { type: 'close-channel-response'; status: number }
  | { type: 'other'; packetType: number };

export class RdgProtocolError extends Error {}

/** Splits a byte stream into packets: feed what arrives, take whole packets out. */
export class PacketReader {
  #pending: Buffer[] = [];
  #length = 0;

  push(chunk: Buffer): Buffer[] {
    this.#pending.push(chunk);
    this.#length += chunk.length;
    const out: Buffer[] = [];
    while (this.#length >= HEADER_LENGTH) {
      const all = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending);
      this.#pending = [all];
      const length = all.readUInt32LE(4);
      if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH)
        throw new RdgProtocolError(`packet length ${length} out of range`);
      if (all.length < length) break;
      out.push(all.subarray(0, length));
      const rest = all.subarray(length);
      this.#pending = rest.length > 0 ? [rest] : [];
      this.#length = rest.length;
    }
    return out;
  }
}

/** A bounds-checked little-endian cursor over one packet's body. */
class Cursor {
  #at: number;
  readonly #buf: Buffer;
  constructor(buf: Buffer, at: number) {
    this.#buf = buf;
    this.#at = at;
  }
  #need(n: number): void {
    if (this.#at + n > this.#buf.length) throw new RdgProtocolError('packet shorter than its fields');
  }
  u8(): number {
    this.#need(1);
    return this.#buf.readUInt8(this.#at++);
  }
  u16(): number {
    this.#need(2);
    const v = this.#buf.readUInt16LE(this.#at);
    this.#at += 2;
    return v;
  }
  u32(): number {
    this.#need(4);
    const v = this.#buf.readUInt32LE(this.#at);
    this.#at += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.#need(n);
    const v = this.#buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return v;
  }
  /** A UTF-16LE string with its byte length in front; a trailing NUL (clients send one) is dropped. */
  string(): string {
    const n = this.u16();
    if (n % 2 !== 0) throw new RdgProtocolError('odd UTF-16 string length');
    return this.bytes(n).toString('utf16le').replace(/\0+$/, '');
  }
}

export function decodePacket(packet: Buffer): ClientPacket {
  const type = packet.readUInt16LE(0);
  const c = new Cursor(packet.subarray(0, packet.readUInt32LE(4)), HEADER_LENGTH);
  switch (type) {
    case PKT.HANDSHAKE_REQUEST:
      return {
        type: 'handshake',
        versionMajor: c.u8(),
        versionMinor: c.u8(),
        clientVersion: c.u16(),
        extendedAuth: c.u16(),
      };
    case PKT.TUNNEL_CREATE: {
      const capabilities = c.u32();
      const fields = c.u16();
      c.u16();
      return { type: 'tunnel-create', capabilities, paaCookie: fields & TUNNEL_FIELD_PAA_COOKIE ? c.string() : null };
    }
    case PKT.TUNNEL_AUTH:
      c.u16(); // fieldsPresent: a statement of health we do not ask for
      return { type: 'tunnel-auth', clientName: c.string() };
    case PKT.CHANNEL_CREATE: {
      const count = c.u8();
      const alternates = c.u8();
      const port = c.u16();
      const protocol = c.u16();
      const resources = Array.from({ length: count }, () => c.string());
      const alternatives = Array.from({ length: alternates }, () => c.string());
      return { type: 'channel-create', resources, alternatives, port, protocol };
    }
    case PKT.DATA: {
      const n = c.u16();
      return { type: 'data', data: c.bytes(n) };
    }
    case PKT.KEEPALIVE:
      return { type: 'keepalive' };
    case PKT.CLOSE_CHANNEL:
      return { type: 'close-channel', status: c.u32() };
    case PKT.CLOSE_CHANNEL_RESPONSE:
      return { type: 'close-channel-response', status: c.u32() };
    default:
      return { type: 'other', packetType: type };
  }
}

function packet(type: number, body: Buffer): Buffer {
  const out = Buffer.alloc(HEADER_LENGTH + body.length);
  out.writeUInt16LE(type, 0);
  out.writeUInt32LE(out.length, 4);
  body.copy(out, HEADER_LENGTH);
  return out;
}

function fields(...parts: Array<[bytes: 1 | 2 | 4, value: number]>): Buffer {
  const buf = Buffer.alloc(parts.reduce((n, [b]) => n + b, 0));
  let at = 0;
  for (const [bytes, value] of parts) {
    if (bytes === 1) buf.writeUInt8(value, at);
    else if (bytes === 2) buf.writeUInt16LE(value, at);
    else buf.writeUInt32LE(value >>> 0, at);
    at += bytes;
  }
  return buf;
}

export function handshakeResponse(error: number, extendedAuth: number): Buffer {
  return packet(PKT.HANDSHAKE_RESPONSE, fields([4, error], [1, 1], [1, 0], [2, 0], [2, extendedAuth]));
}

export function tunnelResponse(error: number, tunnelId: number, capabilities: number): Buffer {
  const present = error === HRESULT.OK ? TUNNEL_RESPONSE_FIELD.TUNNEL_ID | TUNNEL_RESPONSE_FIELD.CAPS : 0;
  const optional = present ? fields([4, tunnelId], [4, capabilities]) : Buffer.alloc(0);
  return packet(PKT.TUNNEL_RESPONSE, Buffer.concat([fields([2, 0], [4, error], [2, present], [2, 0]), optional]));
}

/** `idleTimeoutMinutes` 0: none. */
export function tunnelAuthResponse(error: number, redirFlags: number, idleTimeoutMinutes: number): Buffer {
  const present =
    error === HRESULT.OK ? TUNNEL_AUTH_RESPONSE_FIELD.REDIR_FLAGS | TUNNEL_AUTH_RESPONSE_FIELD.IDLE_TIMEOUT : 0;
  const optional = present ? fields([4, redirFlags], [4, idleTimeoutMinutes]) : Buffer.alloc(0);
  return packet(PKT.TUNNEL_AUTH_RESPONSE, Buffer.concat([fields([4, error], [2, present], [2, 0]), optional]));
}

export function channelResponse(error: number, channelId: number): Buffer {
  const present = error === HRESULT.OK ? CHANNEL_RESPONSE_FIELD_CHANNEL_ID : 0;
  return packet(
    PKT.CHANNEL_RESPONSE,
    Buffer.concat([fields([4, error], [2, present], [2, 0]), present ? fields([4, channelId]) : Buffer.alloc(0)]),
  );
}

/** The largest payload one data packet carries (its length field is 16 bits). */
export const MAX_DATA = 0xffff;

/** Wraps RDP bytes in data packets, splitting what does not fit one. */
export function dataPackets(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_DATA) {
    const part = data.subarray(at, Math.min(at + MAX_DATA, data.length));
    const buf = Buffer.allocUnsafe(HEADER_LENGTH + 2 + part.length);
    buf.writeUInt16LE(PKT.DATA, 0);
    buf.writeUInt16LE(0, 2);
    buf.writeUInt32LE(buf.length, 4);
    buf.writeUInt16LE(part.length, 8);
    part.copy(buf, 10);
    out.push(buf);
  }
  return out;
}

export function keepalive(): Buffer {
  return packet(PKT.KEEPALIVE, Buffer.alloc(0));
}

export function closeChannel(status: number): Buffer {
  return packet(PKT.CLOSE_CHANNEL, fields([4, status]));
}

export function closeChannelResponse(status: number): Buffer {
  return packet(PKT.CLOSE_CHANNEL_RESPONSE, fields([4, status]));
}

// What a client sends: used by the tests' scripted client (and handy for a probe), the mirror of decodePacket.
export const client = {
  handshake(extendedAuth: number): Buffer {
    return packet(PKT.HANDSHAKE_REQUEST, fields([1, 1], [1, 0], [2, 0], [2, extendedAuth]));
  },
  tunnelCreate(paaCookie: string | null): Buffer {
    const head = fields([4, CAPABILITY.QUAR_SOH], [2, paaCookie === null ? 0 : TUNNEL_FIELD_PAA_COOKIE], [2, 0]);
    return packet(PKT.TUNNEL_CREATE, paaCookie === null ? head : Buffer.concat([head, utf16(paaCookie)]));
  },
  tunnelAuth(clientName: string): Buffer {
    return packet(PKT.TUNNEL_AUTH, Buffer.concat([fields([2, 0]), utf16(clientName)]));
  },
  channelCreate(host: string, port: number): Buffer {
    return packet(PKT.CHANNEL_CREATE, Buffer.concat([fields([1, 1], [1, 0], [2, port], [2, 3]), utf16(host)]));
  },
};

/** A NUL-terminated UTF-16LE string with its byte length in front, as clients write them. */
function utf16(value: string): Buffer {
  const body = Buffer.from(`${value}\0`, 'utf16le');
  return Buffer.concat([fields([2, body.length]), body]);
}

/** Reads a server packet's HRESULT (every response but the tunnel response has it first; that one after a u16). */
export function responseError(packet: Buffer): number {
  const type = packet.readUInt16LE(0);
  return type === PKT.TUNNEL_RESPONSE ? packet.readUInt32LE(HEADER_LENGTH + 2) : packet.readUInt32LE(HEADER_LENGTH);
}
