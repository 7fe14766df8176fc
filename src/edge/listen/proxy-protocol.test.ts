import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProxyHeader, V2_MAX_PAYLOAD } from './proxy-protocol.ts';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 header built by hand: version/command byte, family/transport byte, then the address block and TLVs. */
function v2(command: number, familyTransport: number, block: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(block.length);
  return Buffer.concat([SIGNATURE, Buffer.from([0x20 | command, familyTransport]), length, block]);
}
function ports(source: number, destination: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(source, 0);
  b.writeUInt16BE(destination, 2);
  return b;
}
const tlv = (type: number, value: Buffer): Buffer =>
  Buffer.concat([Buffer.from([type, value.length >> 8, value.length & 0xff]), value]);
const HELLO = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]);

test("v2 PROXY over TCP/IPv4: the source address and port, and where the connection's bytes start", () => {
  const header = v2(1, 0x11, Buffer.concat([Buffer.from([203, 0, 113, 7, 192, 0, 2, 1]), ports(51234, 443)]));
  const result = parseProxyHeader(Buffer.concat([header, HELLO]));
  assert.deepEqual(result, {
    kind: 'header',
    header: { command: 'proxy', address: '203.0.113.7', port: 51234 },
    length: 28,
  });
});

test('v2 PROXY over TCP/IPv6, with TLVs after the addresses (skipped)', () => {
  const source = Buffer.from('20010db8000000000000000000000001', 'hex');
  const destination = Buffer.from('20010db8000000000000000000000002', 'hex');
  const tlvs = Buffer.concat([
    tlv(0x05, Buffer.from('unique-id-1')),
    tlv(0x02, Buffer.from('hr.example.com')),
    tlv(0x04, Buffer.alloc(0)),
  ]);
  const header = v2(1, 0x21, Buffer.concat([source, destination, ports(40000, 8443), tlvs]));
  const result = parseProxyHeader(Buffer.concat([header, HELLO]));
  assert.deepEqual(result, {
    kind: 'header',
    header: { command: 'proxy', address: '2001:db8::1', port: 40000 },
    length: header.length,
  });
});

test('v2 IPv4-mapped IPv6 source reads as IPv4', () => {
  const mapped = Buffer.from('00000000000000000000ffffc6336407', 'hex');
  const result = parseProxyHeader(v2(1, 0x21, Buffer.concat([mapped, Buffer.alloc(16), ports(1, 2)])));
  assert.equal(result.kind === 'header' && result.header.command === 'proxy' && result.header.address, '198.51.100.7');
});

test('v2 LOCAL (a health check): no client address, whatever the family', () => {
  assert.deepEqual(parseProxyHeader(v2(0, 0x00, Buffer.alloc(0))), {
    kind: 'header',
    header: { command: 'local' },
    length: 16,
  });
  const withBlock = v2(0, 0x11, Buffer.alloc(12));
  assert.deepEqual(parseProxyHeader(withBlock), { kind: 'header', header: { command: 'local' }, length: 28 });
});

test('every prefix of a header needs more bytes; a ClientHello is no header', () => {
  const header = v2(1, 0x11, Buffer.concat([Buffer.alloc(8, 1), ports(1, 2)]));
  for (let n = 1; n < header.length; n++)
    assert.deepEqual(parseProxyHeader(header.subarray(0, n)), { kind: 'need-more' }, `at ${n} bytes`);
  assert.deepEqual(parseProxyHeader(HELLO), { kind: 'none' });
  assert.deepEqual(parseProxyHeader(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'none' });
  assert.deepEqual(parseProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01])), { kind: 'none' });
});

test('v2 refusals: wrong version or command, UDP, UNIX, short address block, over-long header', () => {
  const block = Buffer.concat([Buffer.alloc(8, 1), ports(1, 2)]);
  const wrongVersion = v2(1, 0x11, block);
  wrongVersion[12] = 0x11;
  assert.equal(parseProxyHeader(wrongVersion).kind, 'invalid');
  assert.equal(parseProxyHeader(v2(2, 0x11, block)).kind, 'invalid');
  assert.equal(parseProxyHeader(v2(1, 0x12, block)).kind, 'invalid');
  assert.equal(parseProxyHeader(v2(1, 0x31, Buffer.alloc(216))).kind, 'invalid');
  assert.equal(parseProxyHeader(v2(1, 0x11, Buffer.alloc(11))).kind, 'invalid');
  assert.equal(parseProxyHeader(v2(1, 0x21, Buffer.alloc(35))).kind, 'invalid');
  assert.equal(parseProxyHeader(v2(1, 0x00, Buffer.alloc(0))).kind, 'invalid');
  // Refused from the length field alone, before the body arrives.
  const long = v2(1, 0x11, Buffer.alloc(V2_MAX_PAYLOAD + 1)).subarray(0, 16);
  assert.equal(parseProxyHeader(long).kind, 'invalid');
  assert.equal(parseProxyHeader(v2(1, 0x11, Buffer.concat([block, Buffer.alloc(V2_MAX_PAYLOAD - 12)]))).kind, 'header');
});

test('v1 text: TCP4, TCP6 and UNKNOWN; malformed lines refused', () => {
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n\x16\x03')), {
    kind: 'header',
    header: { command: 'proxy', address: '203.0.113.7', port: 51234 },
    length: 44,
  });
  const six = parseProxyHeader(Buffer.from('PROXY TCP6 2001:DB8:0:0::1 2001:db8::2 40000 443\r\n'));
  assert.deepEqual(six.kind === 'header' && six.header, { command: 'proxy', address: '2001:db8::1', port: 40000 });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY UNKNOWN\r\n')), {
    kind: 'header',
    header: { command: 'local' },
    length: 15,
  });
  assert.deepEqual(parseProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7')), { kind: 'need-more' });
  assert.deepEqual(parseProxyHeader(Buffer.from('PRO')), { kind: 'need-more' });
  for (const line of [
    'PROXY TCP4 203.0.113.7 192.0.2.1 51234\r\n',
    'PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n',
    'PROXY TCP4 1.2.3.4 5.6.7.8 65536 1\r\n',
    'PROXY TCP4 1.2.3.4 5.6.7.8 01 1\r\n',
    'PROXY UDP4 1.2.3.4 5.6.7.8 1 1\r\n',
    'PROXY  TCP4 1.2.3.4 5.6.7.8 1 1\r\n',
  ]) {
    assert.equal(parseProxyHeader(Buffer.from(line)).kind, 'invalid', line);
  }
  assert.equal(parseProxyHeader(Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`)).kind, 'invalid');
});
