import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CAPABILITY,
  EXTENDED_AUTH,
  HEADER_LENGTH,
  HRESULT,
  MAX_DATA,
  PKT,
  PacketReader,
  RdgProtocolError,
  channelResponse,
  client,
  closeChannel,
  closeChannelResponse,
  dataPackets,
  decodePacket,
  handshakeResponse,
  keepalive,
  responseError,
  tunnelAuthResponse,
  tunnelResponse,
} from './codec.ts';
import {
  acceptKey,
  encodeClientFrame,
  encodeFrame,
  FrameReader,
  OPCODE,
  readServerFrames,
  WebSocketProtocolError,
} from './websocket.ts';
import { connectFile } from './connect-file.ts';
import { rdpTarget, sameTarget } from '../../tunnel/rdp.ts';

const header = (p: Buffer) => ({ type: p.readUInt16LE(0), reserved: p.readUInt16LE(2), length: p.readUInt32LE(4) });

describe('MS-TSGU HTTP transport packets', () => {
  it('decodes what a client sends: handshake, tunnel create with and without a PAA cookie, tunnel auth, channel create', () => {
    assert.deepEqual(decodePacket(client.handshake(EXTENDED_AUTH.PAA)), {
      type: 'handshake',
      versionMajor: 1,
      versionMinor: 0,
      clientVersion: 0,
      extendedAuth: EXTENDED_AUTH.PAA,
    });
    assert.deepEqual(decodePacket(client.tunnelCreate('dbgw1.token')), {
      type: 'tunnel-create',
      capabilities: CAPABILITY.QUAR_SOH,
      paaCookie: 'dbgw1.token',
    });
    assert.deepEqual(decodePacket(client.tunnelCreate(null)), {
      type: 'tunnel-create',
      capabilities: CAPABILITY.QUAR_SOH,
      paaCookie: null,
    });
    assert.deepEqual(decodePacket(client.tunnelAuth('WORKSTATION')), {
      type: 'tunnel-auth',
      clientName: 'WORKSTATION',
    });
    assert.deepEqual(decodePacket(client.channelCreate('rdp.corp.example', 3389)), {
      type: 'channel-create',
      resources: ['rdp.corp.example'],
      alternatives: [],
      port: 3389,
      protocol: 3,
    });
  });

  it('lays out the header and the handshake request byte for byte', () => {
    const p = client.handshake(EXTENDED_AUTH.PAA);
    assert.equal(p.toString('hex'), '01000000' + '0e000000' + '01' + '00' + '0000' + '0200');
    assert.deepEqual(header(p), { type: PKT.HANDSHAKE_REQUEST, reserved: 0, length: 14 });
  });

  it('writes server responses with their HRESULTs and optional fields', () => {
    const hs = handshakeResponse(HRESULT.OK, EXTENDED_AUTH.PAA);
    assert.equal(hs.toString('hex'), '02000000' + '12000000' + '00000000' + '01' + '00' + '0000' + '0200');
    const tunnel = tunnelResponse(HRESULT.OK, 7, CAPABILITY.IDLE_TIMEOUT);
    assert.deepEqual(header(tunnel), { type: PKT.TUNNEL_RESPONSE, reserved: 0, length: 26 });
    assert.equal(tunnel.readUInt16LE(8), 0); // server version
    assert.equal(responseError(tunnel), HRESULT.OK);
    assert.equal(tunnel.readUInt16LE(14), 0x3); // tunnel id and capabilities present
    assert.equal(tunnel.readUInt32LE(18), 7);
    assert.equal(tunnel.readUInt32LE(22), CAPABILITY.IDLE_TIMEOUT);
    const denied = tunnelResponse(HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED, 0, 0);
    assert.equal(denied.length, 18, 'a refusal carries no optional fields');
    assert.equal(responseError(denied), 0x800759f8);
    const auth = tunnelAuthResponse(HRESULT.OK, 0x80000000, 0);
    assert.equal(auth.length, 24);
    assert.equal(auth.readUInt32LE(16), 0x80000000);
    const channel = channelResponse(HRESULT.OK, 42);
    assert.equal(channel.length, 20);
    assert.equal(channel.readUInt32LE(16), 42);
    assert.equal(responseError(channelResponse(HRESULT.E_PROXY_RAP_ACCESSDENIED, 0)), HRESULT.E_PROXY_RAP_ACCESSDENIED);
    assert.deepEqual(header(keepalive()), { type: PKT.KEEPALIVE, reserved: 0, length: HEADER_LENGTH });
    assert.deepEqual(decodePacket(closeChannel(5)), { type: 'close-channel', status: 5 });
    assert.deepEqual(decodePacket(closeChannelResponse(0)), { type: 'close-channel-response', status: 0 });
  });

  it('wraps RDP bytes in data packets of at most 65,535 bytes each and reads them back', () => {
    const data = Buffer.alloc(MAX_DATA * 2 + 10, 0xab);
    const packets = dataPackets(data);
    assert.deepEqual(
      packets.map((p) => p.length),
      [MAX_DATA + 10, MAX_DATA + 10, 20],
    );
    const back = Buffer.concat(
      packets.map((p) => {
        const d = decodePacket(p);
        assert.equal(d.type, 'data');
        return d.type === 'data' ? d.data : Buffer.alloc(0);
      }),
    );
    assert.ok(back.equals(data));
  });

  it('reassembles packets split anywhere across reads, and several in one read', () => {
    const stream = Buffer.concat([client.handshake(2), client.tunnelCreate('t'), ...dataPackets(Buffer.from('hello'))]);
    for (let cut = 1; cut < stream.length; cut++) {
      const reader = new PacketReader();
      const out = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      assert.deepEqual(
        out.map((p) => p.readUInt16LE(0)),
        [PKT.HANDSHAKE_REQUEST, PKT.TUNNEL_CREATE, PKT.DATA],
        `cut at ${cut}`,
      );
    }
  });

  it('refuses a packet length below the header or beyond any legitimate packet, and fields past the end', () => {
    const tiny = Buffer.from('0100000004000000', 'hex');
    assert.throws(() => new PacketReader().push(tiny), RdgProtocolError);
    const huge = Buffer.from('0a00000000001000', 'hex');
    assert.throws(() => new PacketReader().push(huge), RdgProtocolError);
    const lying = client.channelCreate('host', 3389);
    lying.writeUInt16LE(200, 14); // the resource claims 200 bytes
    assert.throws(() => decodePacket(lying), RdgProtocolError);
    assert.deepEqual(decodePacket(Buffer.from('0b00000008000000', 'hex')), {
      type: 'other',
      packetType: PKT.SERVICE_MESSAGE,
    });
  });
});

describe('WebSocket framing for the gateway', () => {
  it('computes Sec-WebSocket-Accept (RFC 6455 example) and takes a key as sent', () => {
    assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    assert.equal(acceptKey('_ZAH\\GKUV@BNMA@').length, 28);
  });

  it('reads masked client frames of every length form, split anywhere', () => {
    const payloads = [Buffer.alloc(5, 1), Buffer.alloc(300, 2), Buffer.alloc(70_000, 3)];
    const wire = Buffer.concat(payloads.map((p) => encodeClientFrame(OPCODE.BINARY, p)));
    for (const cut of [1, 2, 7, 311, wire.length - 1]) {
      const r = new FrameReader();
      const frames = [...r.push(wire.subarray(0, cut)), ...r.push(wire.subarray(cut))];
      assert.deepEqual(
        frames.map((f) => f.payload.length),
        [5, 300, 70_000],
      );
      assert.ok(frames.every((f, i) => f.payload.equals(payloads[i]) && f.opcode === OPCODE.BINARY && f.fin));
    }
  });

  it('refuses unmasked client frames and oversized ones; writes unmasked server frames', () => {
    assert.throws(() => new FrameReader().push(encodeFrame(OPCODE.BINARY, Buffer.from('x'))), WebSocketProtocolError);
    const big = Buffer.alloc(10);
    big[0] = 0x82;
    big[1] = 0x80 | 127;
    big.writeBigUInt64BE(1n << 40n, 2);
    assert.throws(() => new FrameReader().push(big), WebSocketProtocolError);
    const { frames, rest } = readServerFrames(
      Buffer.concat([
        encodeFrame(OPCODE.BINARY, Buffer.alloc(200, 9)),
        encodeFrame(OPCODE.PING, Buffer.from('p')).subarray(0, 2),
      ]),
    );
    assert.equal(frames.length, 1);
    assert.equal(frames[0].payload.length, 200);
    assert.equal(rest.length, 2);
  });
});

describe('rdp targets and connection files', () => {
  it('reads rdp:// internal URLs, 3389 by default, and compares targets without case', () => {
    assert.deepEqual(rdpTarget('rdp://Desk.Corp.example'), { host: 'desk.corp.example', port: 3389 });
    assert.deepEqual(rdpTarget('rdp://10.0.0.5:3390'), { host: '10.0.0.5', port: 3390 });
    assert.deepEqual(rdpTarget('rdp://[::1]:3389'), { host: '::1', port: 3389 });
    assert.equal(rdpTarget('https://desk.corp.example'), null);
    assert.ok(sameTarget({ host: 'DESK.corp.example', port: 3389 }, { host: 'desk.corp.example', port: 3389 }));
    assert.ok(!sameTarget({ host: 'desk.corp.example', port: 3390 }, { host: 'desk.corp.example', port: 3389 }));
  });

  it('writes the gateway, target and token of a .rdp file, one line each, nothing injected', () => {
    const file = connectFile({
      gatewayHost: 'desk.apps.example:8443',
      target: { host: '10.0.0.5', port: 3389 },
      token: 'dbgw1.abc\r\nusername:s:evil',
      username: 'alice@contoso.example',
    });
    const lines = file.trimEnd().split('\r\n');
    assert.ok(lines.includes('full address:s:10.0.0.5:3389'));
    assert.ok(lines.includes('gatewayhostname:s:desk.apps.example:8443'));
    assert.ok(lines.includes('gatewayaccesstoken:s:dbgw1.abcusername:s:evil'));
    assert.equal(lines.filter((l) => l.startsWith('username:')).length, 1);
  });
});
