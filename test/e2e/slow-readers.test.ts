import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { startDevStack, url, type DevStack } from '../helpers/dev-stack.ts';
import { waitUntil } from '../helpers/load.ts';

const MiB = 1024 * 1024;
/** Small windows and budget so the test moves little data: without the brake the clients below hold 64 MiB. */
const STREAM_WINDOW = 4 * MiB;
const BUDGET = 8 * MiB;
const CLIENTS = 16;
const FILE_BYTES = 12 * MiB;

/** One client that asks for a download, reads the response head, then stops reading until told to. */
interface SlowReader {
  socket: tls.TLSSocket;
  status: number;
  /** Body bytes received, once resumed. */
  received: number;
  done: Promise<void>;
}

function slowReader(port: number, host: string, path: string, ca: Buffer, localAddress: string): Promise<SlowReader> {
  return new Promise((resolve, reject) => {
    const options: tls.ConnectionOptions & { localAddress: string } = {
      host: '127.0.0.1',
      port,
      servername: host.split(':')[0],
      ca,
      localAddress,
      ALPNProtocols: ['http/1.1'],
    };
    const socket = tls.connect(options);
    socket.once('error', reject);
    let head = Buffer.alloc(0);
    let finish: () => void;
    const reader: SlowReader = { socket, status: 0, received: 0, done: new Promise((r) => (finish = r)) };
    let length = 0;
    const onData = (chunk: Buffer): void => {
      if (reader.status === 0) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const text = head.subarray(0, end).toString('latin1');
        reader.status = Number(text.split(' ')[1]);
        length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? -1);
        reader.received = head.length - end - 4;
        socket.pause(); // a client that does not read: the edge holds what the connector sends
        resolve(reader);
      } else reader.received += chunk.length;
      if (reader.received >= length) finish();
    };
    socket.on('data', onData);
    socket.once('secureConnect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
  });
}

/**
 * Clients that download and never read (issue 16's left-over from issue 9: 100 of them made the edge hold 1.25 GB).
 * The edge's receive budget (edge/tunnel/receive-budget.ts) lowers the tunnels' stream windows once the unread data
 * passes it; every client that reads again still gets its whole download.
 */
describe('slow readers: what the edge holds for clients that do not read is bounded', { timeout: 180_000 }, () => {
  let stack: DevStack;
  const saved = { ...process.env };

  before(async () => {
    // Read by the edge and the connector that `dev` starts (their environment is this one).
    process.env.DRAWBRIDGE_TUNNEL_STREAM_WINDOW = String(STREAM_WINDOW);
    process.env.DRAWBRIDGE_EDGE_RECEIVE_BUDGET = String(BUDGET);
    stack = await startDevStack(['--connectors', '1']);
  });
  after(async () => {
    process.env = saved;
    await stack?.stop();
  });

  const metric = async (name: string): Promise<number> => {
    const text = await (await request(`${stack.dev.adminUrl}/metrics`)).body.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    assert.ok(line, `${name} in the edge's metrics`);
    return Number(line.split(' ')[1]);
  };

  it('lowers the tunnel windows past the budget, and every reader still gets its whole file', async () => {
    const ca = await readFile(stack.dev.caCertPath);
    const target = new URL(url(stack, 'sample', `/bytes/${FILE_BYTES}`));
    const readers: SlowReader[] = [];
    let maxUnread = 0;
    for (let i = 0; i < CLIENTS; i++) {
      // One by one, as slow clients arrive: the brake acts on what each new stream may be sent.
      readers.push(await slowReader(stack.publicPort, target.host, target.pathname, ca, `127.0.3.${i + 1}`));
      await waitUntil(async () => (await metric('drawbridge_edge_tunnel_unread_bytes')) > 0, 10_000, 'unread data');
      maxUnread = Math.max(maxUnread, await metric('drawbridge_edge_tunnel_unread_bytes'));
    }
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 150));
      maxUnread = Math.max(maxUnread, await metric('drawbridge_edge_tunnel_unread_bytes'));
    }
    assert.deepEqual(
      readers.map((r) => r.status),
      readers.map(() => 200),
    );
    assert.ok((await metric('drawbridge_edge_tunnel_receive_brakes_total')) >= 1, 'the brake came on');
    // Without it: CLIENTS × STREAM_WINDOW = 64 MiB. With it: the budget, the streams that filled before it came on,
    // and 1 MiB for each later one.
    assert.ok(maxUnread < 40 * MiB, `unread data peaked at ${(maxUnread / MiB).toFixed(1)} MiB`);

    for (const r of readers) r.socket.resume();
    await Promise.all(readers.map((r) => r.done));
    assert.deepEqual(
      readers.map((r) => r.received),
      readers.map(() => FILE_BYTES),
    );
    for (const r of readers) r.socket.destroy();
    await waitUntil(async () => (await metric('drawbridge_edge_tunnel_unread_bytes')) === 0, 10_000, 'no unread data');

    // The windows came back: a download after the storm runs on a fresh stream and arrives whole.
    const res = await request(target, { dispatcher: stack.agent });
    assert.equal(res.statusCode, 200);
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    assert.equal(bytes, FILE_BYTES);
  });
});
