import net from 'node:net';

/**
 * The PROXY protocol header a load balancer (haproxy `send-proxy-v2`) puts in front of a connection's bytes, to tell
 * the edge who the client is (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt). A small strict parser:
 * v2 (binary) and v1 (text); TCP over IPv4 or IPv6 only; TLVs skipped; the header's length is bounded.
 *
 * No npm package fit: the maintained one (proxy-protocol-js) parses a whole buffer it is given without saying where
 * the header ends, so the TLS bytes after it could not be handed on.
 */
export type ProxyHeader =
  /** PROXY: a relayed connection from `address`:`port`. */
  | { command: 'proxy'; address: string; port: number }
  /** LOCAL (v2) or UNKNOWN (v1): the proxy's own connection, e.g. a health check; the socket's address stands. */
  | { command: 'local' };

export type ProxyParse =
  | { kind: 'need-more' }
  /** The bytes do not start with a PROXY header (a TLS ClientHello, say). */
  | { kind: 'none' }
  | { kind: 'invalid'; reason: string }
  /** A header of `length` bytes; the connection's own bytes follow it. */
  | { kind: 'header'; header: ProxyHeader; length: number };

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** v1 lines are at most 107 bytes with CRLF (the spec's limit). */
const V1_MAX = 107;
/** Addresses plus the TLVs haproxy sends (unique id, SSL details, authority) fit well within this. */
export const V2_MAX_PAYLOAD = 1024;

/** Parses the start of a connection: a header, not one, or not yet known. */
export function parseProxyHeader(bytes: Buffer): ProxyParse {
  if (startsLike(bytes, V2_SIGNATURE))
    return bytes.length < V2_SIGNATURE.length ? { kind: 'need-more' } : parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? { kind: 'need-more' } : parseV1(bytes);
  return { kind: 'none' };
}

/** True when `bytes` (perhaps still short) agree with `prefix` as far as they go. */
function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const n = Math.min(bytes.length, prefix.length);
  return n > 0 && bytes.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV2(bytes: Buffer): ProxyParse {
  if (bytes.length < 16) return { kind: 'need-more' };
  const version = bytes[12] >> 4;
  const command = bytes[12] & 0x0f;
  const family = bytes[13] >> 4;
  const transport = bytes[13] & 0x0f;
  const payload = bytes.readUInt16BE(14);
  if (version !== 2) return { kind: 'invalid', reason: `version ${version}` };
  if (command > 1) return { kind: 'invalid', reason: `command ${command}` };
  if (payload > V2_MAX_PAYLOAD) return { kind: 'invalid', reason: `header of ${payload} bytes` };
  const length = 16 + payload;
  if (bytes.length < length) return { kind: 'need-more' };
  // LOCAL: the proxy speaking for itself (health checks); whatever address block follows is ignored.
  if (command === 0) return { kind: 'header', header: { command: 'local' }, length };
  if (transport !== 1) return { kind: 'invalid', reason: `transport ${transport} (only TCP)` };
  if (family === 1) {
    if (payload < 12) return { kind: 'invalid', reason: 'IPv4 address block too short' };
    const address = [...bytes.subarray(16, 20)].join('.');
    return { kind: 'header', header: { command: 'proxy', address, port: bytes.readUInt16BE(24) }, length };
  }
  if (family === 2) {
    if (payload < 36) return { kind: 'invalid', reason: 'IPv6 address block too short' };
    return {
      kind: 'header',
      header: { command: 'proxy', address: formatIpv6(bytes.subarray(16, 32)), port: bytes.readUInt16BE(48) },
      length,
    };
  }
  return { kind: 'invalid', reason: `address family ${family} (only IPv4 and IPv6)` };
}

function parseV1(bytes: Buffer): ProxyParse {
  const end = bytes.indexOf('\r\n', 0, 'latin1');
  if (end < 0) return bytes.length >= V1_MAX ? { kind: 'invalid', reason: 'v1 line too long' } : { kind: 'need-more' };
  if (end + 2 > V1_MAX) return { kind: 'invalid', reason: 'v1 line too long' };
  const parts = bytes.toString('latin1', 0, end).split(' ');
  const length = end + 2;
  if (parts[1] === 'UNKNOWN') return { kind: 'header', header: { command: 'local' }, length };
  if (parts.length !== 6) return { kind: 'invalid', reason: 'v1 line malformed' };
  const [, protocol, source, destination, sourcePort, destinationPort] = parts;
  const family = protocol === 'TCP4' ? 4 : protocol === 'TCP6' ? 6 : 0;
  if (family === 0) return { kind: 'invalid', reason: `v1 protocol ${protocol}` };
  if (net.isIP(source) !== family || net.isIP(destination) !== family)
    return { kind: 'invalid', reason: 'v1 address malformed' };
  if (!isPort(sourcePort) || !isPort(destinationPort)) return { kind: 'invalid', reason: 'v1 port malformed' };
  const address = family === 6 ? canonicalIpv6(source) : source;
  return { kind: 'header', header: { command: 'proxy', address, port: Number(sourcePort) }, length };
}

function isPort(text: string): boolean {
  return /^(0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= 65535;
}

/** The canonical text of an IPv6 address (RFC 5952, as Node prints socket addresses); IPv4-mapped ones as IPv4. */
function formatIpv6(bytes: Uint8Array): string {
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return [...bytes.subarray(12)].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return canonicalIpv6(groups.join(':'));
}

/** The URL parser writes IPv6 hosts in RFC 5952 form. */
function canonicalIpv6(text: string): string {
  const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [hi, lo] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)];
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}
