import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GatewaySession, type GatewayHooks, type GatewaySummary, type PacketTransport } from './gateway.ts';
import {
  EXTENDED_AUTH,
  HRESULT,
  PKT,
  PacketReader,
  client,
  closeChannel,
  dataPackets,
  decodePacket,
  keepalive,
  responseError,
} from './codec.ts';

/**
 * The gateway state machine against a real TCP server as the RDP host (an echo server on loopback); packets to the
 * client are collected as the transport receives them.
 */
let echo: net.Server;
let port: number;

before(async () => {
  echo = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  port = (echo.address() as net.AddressInfo).port;
});
after(() => echo.close());

function harness(hooks: Partial<GatewayHooks> = {}) {
  const sent: Buffer[] = [];
  let closed = false;
  let summary: GatewaySummary | null = null;
  const transport: PacketTransport = {
    write: (p) => {
      sent.push(...new PacketReader().push(p));
      return true;
    },
    onDrain: () => {},
    pause: () => {},
    resume: () => {},
    close: () => {
      closed = true;
    },
  };
  const session = new GatewaySession(transport, {
    authorise: async (token) =>
      token === 'good' ? { ok: true, target: { host: '127.0.0.1', port } } : { ok: false, reason: 'bad token' },
    openChannel: (target) =>
      new Promise((resolve) => {
        const s = net.connect(target.port, target.host, () => resolve(s));
        s.once('error', (err) => resolve({ error: err.message }));
      }),
    onEnd: (s) => {
      summary = s;
    },
    ...hooks,
  });
  const waitFor = async (type: number): Promise<Buffer> => {
    for (let i = 0; i < 500; i++) {
      const at = sent.findIndex((p) => p.readUInt16LE(0) === type);
      if (at >= 0) return sent.splice(at, 1)[0];
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no packet ${type}; got ${sent.map((p) => p.readUInt16LE(0)).join(',')}`);
  };
  return { session, sent, waitFor, closed: () => closed, summary: () => summary };
}

describe('gateway session', () => {
  it('runs handshake → tunnel → authorisation → channel, then relays data both ways and counts it', async () => {
    const h = harness();
    // Everything at once, as a client may pipeline it: packets after the tunnel create wait for the authorisation.
    h.session.receive(
      Buffer.concat([
        client.handshake(EXTENDED_AUTH.PAA),
        client.tunnelCreate('good'),
        client.tunnelAuth('pc'),
        client.channelCreate('127.0.0.1', port),
        keepalive(),
        ...dataPackets(Buffer.from('ping')),
      ]),
    );
    assert.equal(responseError(await h.waitFor(PKT.HANDSHAKE_RESPONSE)), HRESULT.OK);
    assert.equal(responseError(await h.waitFor(PKT.TUNNEL_RESPONSE)), HRESULT.OK);
    assert.equal(responseError(await h.waitFor(PKT.TUNNEL_AUTH_RESPONSE)), HRESULT.OK);
    assert.equal(responseError(await h.waitFor(PKT.CHANNEL_RESPONSE)), HRESULT.OK);
    const echoed = decodePacket(await h.waitFor(PKT.DATA));
    assert.deepEqual(echoed.type === 'data' && echoed.data.toString(), 'ping');
    h.session.receive(Buffer.alloc(0)); // an empty read changes nothing
    h.session.receive(closeChannel(0)); // the client's close (same layout both ways)
    assert.equal(responseError(await h.waitFor(PKT.CLOSE_CHANNEL_RESPONSE)), HRESULT.OK);
    assert.ok(h.closed());
    assert.deepEqual(
      {
        outcome: h.summary()?.outcome,
        to: h.summary()?.bytesToTarget,
        from: h.summary()?.bytesFromTarget,
        name: h.summary()?.clientName,
      },
      { outcome: 'closed', to: 4, from: 4, name: 'pc' },
    );
  });

  it('refuses a bad token, a client that offers no token, another resource, and packets out of order', async () => {
    const bad = harness();
    bad.session.receive(Buffer.concat([client.handshake(EXTENDED_AUTH.PAA), client.tunnelCreate('bad')]));
    assert.equal(
      responseError(await bad.waitFor(PKT.TUNNEL_RESPONSE)),
      HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED,
    );
    assert.equal(bad.summary()?.outcome, 'refused');

    const ntlm = harness();
    ntlm.session.receive(client.handshake(EXTENDED_AUTH.SSPI_NTLM));
    assert.equal(
      responseError(await ntlm.waitFor(PKT.HANDSHAKE_RESPONSE)),
      HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED,
    );
    assert.equal(ntlm.summary()?.code, 'DB-RDG-TOKEN-INVALID');

    let opened = 0;
    const other = harness({
      openChannel: async () => {
        opened++;
        return { error: 'never' };
      },
    });
    other.session.receive(
      Buffer.concat([
        client.handshake(EXTENDED_AUTH.PAA),
        client.tunnelCreate('good'),
        client.tunnelAuth('pc'),
        client.channelCreate('127.0.0.1', port + 1),
      ]),
    );
    assert.equal(responseError(await other.waitFor(PKT.CHANNEL_RESPONSE)), HRESULT.E_PROXY_RAP_ACCESSDENIED);
    assert.equal(other.summary()?.code, 'DB-RDG-RESOURCE-REFUSED');
    assert.equal(opened, 0, 'nothing was dialled');

    const early = harness();
    early.session.receive(Buffer.concat([client.handshake(EXTENDED_AUTH.PAA), ...dataPackets(Buffer.from('x'))]));
    assert.equal(early.summary()?.outcome, 'failed');
    assert.ok(early.closed());
  });

  it("terminate() tells an open channel's client it closes and ends the tunnel", async () => {
    const h = harness();
    h.session.receive(
      Buffer.concat([
        client.handshake(EXTENDED_AUTH.PAA),
        client.tunnelCreate('good'),
        client.tunnelAuth('pc'),
        client.channelCreate('127.0.0.1', port),
      ]),
    );
    await h.waitFor(PKT.CHANNEL_RESPONSE);
    h.session.terminate('DB-SESSION-REVOKED: revoked');
    await h.waitFor(PKT.CLOSE_CHANNEL);
    assert.equal(h.summary()?.outcome, 'refused');
    assert.equal(h.summary()?.reason, 'DB-SESSION-REVOKED: revoked');
  });
});
