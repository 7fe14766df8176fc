import assert from 'node:assert/strict';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NameType } from './asn1/principal.ts';
import { encodeKrbError } from './messages/krb-error.ts';
import { isResponseTooBig, parseKdcAddress, sendToKdc } from './transport.ts';

const tooBig = encodeKrbError({
  stime: new Date(),
  susec: 0,
  errorCode: 52,
  realm: 'CORP.TEST',
  sname: { nameType: NameType.SRV_INST, components: ['krbtgt', 'CORP.TEST'] },
});

/** A fake KDC: UDP always says RESPONSE_TOO_BIG, TCP answers "tcp:" + request. */
class FakeKdc {
  tcp!: Server;
  udp!: UdpSocket;
  port = 0;
  udpHits = 0;
  tcpHits = 0;

  async start(): Promise<void> {
    this.tcp = createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          this.tcpHits++;
          const req = buf.subarray(4, 4 + buf.readUInt32BE(0));
          const body = Buffer.concat([Buffer.from('tcp:'), req]);
          const len = Buffer.alloc(4);
          len.writeUInt32BE(body.length);
          // Split the reply in two writes to exercise reassembly.
          sock.write(Buffer.concat([len, body.subarray(0, 2)]));
          setTimeout(() => sock.end(body.subarray(2)), 5);
        }
      });
    });
    await new Promise<void>((r) => this.tcp.listen(0, '127.0.0.1', r));
    this.port = (this.tcp.address() as { port: number }).port;
    this.udp = createSocket('udp4');
    this.udp.on('message', (_msg, rinfo) => {
      this.udpHits++;
      this.udp.send(tooBig, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => this.udp.bind(this.port, '127.0.0.1', r));
  }

  async stop(): Promise<void> {
    this.udp.close();
    await new Promise((r) => this.tcp.close(r));
  }
}

describe('transport', () => {
  const kdc = new FakeKdc();
  before(() => kdc.start());
  after(() => kdc.stop());

  it('parses KDC addresses', () => {
    assert.deepEqual(parseKdcAddress('127.0.0.1:88'), { host: '127.0.0.1', port: 88 });
    assert.deepEqual(parseKdcAddress('dc.corp.test'), { host: 'dc.corp.test', port: 88 });
    assert.deepEqual(parseKdcAddress('[::1]:750'), { host: '::1', port: 750 });
    assert.deepEqual(parseKdcAddress('::1'), { host: '::1', port: 88 });
    assert.throws(() => parseKdcAddress('a:b:c:d:x'), { code: 'KRB-INVALID-ARGUMENT' });
  });

  it('recognises KRB_ERR_RESPONSE_TOO_BIG', () => {
    assert.ok(isResponseTooBig(tooBig));
    assert.ok(!isResponseTooBig(new Uint8Array([0x6b, 0])));
  });

  it('switches to TCP when UDP says RESPONSE_TOO_BIG', async () => {
    const udp0 = kdc.udpHits;
    const tcp0 = kdc.tcpHits;
    const res = await sendToKdc(new Uint8Array([0x6a, 1, 2, 3]), { kdcs: [`127.0.0.1:${kdc.port}`], timeoutMs: 2000 });
    assert.equal(res.transport, 'tcp');
    assert.equal(Buffer.from(res.reply).toString('latin1'), 'tcp:\x6a\x01\x02\x03');
    assert.equal(kdc.udpHits - udp0, 1);
    assert.equal(kdc.tcpHits - tcp0, 1);
  });

  it('goes straight to TCP with preferTcp or a large request', async () => {
    const udp0 = kdc.udpHits;
    assert.equal(
      (await sendToKdc(new Uint8Array([1]), { kdcs: [{ host: '127.0.0.1', port: kdc.port }], preferTcp: true }))
        .transport,
      'tcp',
    );
    assert.equal(
      (await sendToKdc(new Uint8Array(2000), { kdcs: [{ host: '127.0.0.1', port: kdc.port }] })).transport,
      'tcp',
    );
    assert.equal(kdc.udpHits, udp0);
  });

  it('skips a dead KDC and uses the next one', async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const deadPort = (dead.address() as { port: number }).port;
    await new Promise((r) => dead.close(r));
    const res = await sendToKdc(new Uint8Array([1]), {
      kdcs: [`127.0.0.1:${deadPort}`, `127.0.0.1:${kdc.port}`],
      preferTcp: true,
      timeoutMs: 500,
    });
    assert.equal(res.kdc, `127.0.0.1:${kdc.port}`);
  });

  it('throws KRB-KDC-UNREACHABLE when none answers', async () => {
    const silent = createSocket('udp4'); // bound but never answers: a timeout, not a refusal
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
    const port = silent.address().port;
    try {
      await assert.rejects(
        sendToKdc(new Uint8Array([1]), { kdcs: [`127.0.0.1:${port}`], timeoutMs: 150 }),
        (e: unknown) => {
          assert.equal((e as { code: string }).code, 'KRB-KDC-UNREACHABLE');
          assert.match((e as { hint: string }).hint, /no UDP reply within 150 ms/);
          return true;
        },
      );
    } finally {
      silent.close();
    }
  });
});
