/**
 * Reads SNI and ALPN out of a TLS ClientHello without terminating TLS, so one public port can hand user traffic and
 * connector tunnels (which need client certificates) to two differently configured TLS servers. Node cannot request
 * a client certificate per SNI, and no maintained library does this small job, so it is written here (RFC 8446
 * §4.1.2, RFC 6066 §3, RFC 7301 §3.1).
 */
export interface ClientHelloInfo {
  serverName: string | null;
  alpn: string[];
}

export type PeekResult = { kind: 'need-more' } | { kind: 'not-tls' } | { kind: 'hello'; info: ClientHelloInfo };

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
/** A ClientHello larger than this is refused (post-quantum key shares make them ~2 KiB; 16 KiB is generous). */
export const MAX_HELLO_BYTES = 16 * 1024 + 5;

export function peekClientHello(buf: Buffer): PeekResult {
  if (buf.length < 1) return { kind: 'need-more' };
  if (buf[0] !== RECORD_HANDSHAKE) return { kind: 'not-tls' };
  if (buf.length < 5) return { kind: 'need-more' };
  const recordLength = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLength) return buf.length >= MAX_HELLO_BYTES ? { kind: 'not-tls' } : { kind: 'need-more' };
  const hs = buf.subarray(5, 5 + recordLength);
  if (hs.length < 4 || hs[0] !== HANDSHAKE_CLIENT_HELLO) return { kind: 'not-tls' };
  const helloLength = hs.readUIntBE(1, 3);
  // A ClientHello split over several records is legal but never seen from real clients; treat the first record's
  // part as what we have and parse defensively.
  const body = hs.subarray(4, 4 + helloLength);
  try {
    return { kind: 'hello', info: parseHelloBody(body) };
  } catch {
    return { kind: 'not-tls' };
  }
}

function parseHelloBody(body: Buffer): ClientHelloInfo {
  let pos = 2 + 32; // legacy_version, random
  pos += 1 + body[pos]; // session id
  pos += 2 + body.readUInt16BE(pos); // cipher suites
  pos += 1 + body[pos]; // compression methods
  const info: ClientHelloInfo = { serverName: null, alpn: [] };
  if (pos + 2 > body.length) return info; // no extensions
  const end = Math.min(body.length, pos + 2 + body.readUInt16BE(pos));
  pos += 2;
  while (pos + 4 <= end) {
    const type = body.readUInt16BE(pos);
    const length = body.readUInt16BE(pos + 2);
    const ext = body.subarray(pos + 4, pos + 4 + length);
    pos += 4 + length;
    if (type === EXT_SERVER_NAME) info.serverName = parseServerName(ext);
    else if (type === EXT_ALPN) info.alpn = parseAlpn(ext);
  }
  return info;
}

function parseServerName(ext: Buffer): string | null {
  let pos = 2;
  while (pos + 3 <= ext.length) {
    const nameType = ext[pos];
    const length = ext.readUInt16BE(pos + 1);
    if (nameType === 0) return ext.toString('ascii', pos + 3, pos + 3 + length).toLowerCase();
    pos += 3 + length;
  }
  return null;
}

function parseAlpn(ext: Buffer): string[] {
  const out: string[] = [];
  let pos = 2;
  while (pos < ext.length) {
    const length = ext[pos];
    out.push(ext.toString('ascii', pos + 1, pos + 1 + length));
    pos += 1 + length;
  }
  return out;
}
