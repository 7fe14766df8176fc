/**
 * The RD Gateway's legacy HTTP transport ([MS-TSGU] 2.2.3.2, 3.3.5.1), for clients that do not (or may not) upgrade
 * to WebSocket — FreeRDP's `/gt:http,no-websockets`, older mstsc:
 *
 *   - the OUT channel: `RDG_OUT_DATA` answered 200 with a chunked body that never ends: a 10-byte seed, then every
 *     server packet;
 *   - the IN channel, another connection: `RDG_IN_DATA` answered 200 with an empty body, then a second `RDG_IN_DATA`
 *     on the same connection whose chunked body is every client packet (never answered while the tunnel lives).
 *
 * Both carry the client's `RDG-Connection-Id`; an IN channel pairs only with an OUT channel of the same app from the
 * same client address, once. The extension methods reach here through lib/http1/extension-methods.ts.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../../store/types.ts';
import { clientAddress } from '../listen/client-address.ts';
import { respondError } from '../proxy/respond-error.ts';
import type { PacketTransport } from './gateway.ts';
import { offersWindowsAuth, runGateway, type RdgDeps } from './server.ts';

/** An OUT channel waits this long for its IN channel. */
const PAIRING_MS = 30_000;
const CONNECTION_ID = /^\{?[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}?$/;

interface OutChannel {
  res: ServerResponse;
  clientIp: string | null;
  /** Set once the IN channel arrived. */
  paired: boolean;
  timer: NodeJS.Timeout;
}

/** OUT channels by app id and connection id (one node holds both halves: a load balancer keeps a client on one). */
const outChannels = new Map<string, OutChannel>();

export function handleLegacyGateway(
  deps: RdgDeps,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  method: string,
  correlationId: string,
): void {
  const id = String(req.headers['rdg-connection-id'] ?? '');
  if (!CONNECTION_ID.test(id))
    return respondError(res, 'DB-HTTP-BAD-REQUEST', correlationId, 'RD Gateway requests carry an RDG-Connection-Id');
  if (offersWindowsAuth(deps, req, app, correlationId)) return respondError(res, 'DB-RDG-TOKEN-INVALID', correlationId);
  const key = `${app.id}\u0000${id.toLowerCase()}`;
  const clientIp = clientAddress(req.socket) ?? null;
  res.shouldKeepAlive = method === 'RDG_IN_DATA';

  if (method === 'RDG_OUT_DATA') {
    if (outChannels.has(key))
      return respondError(
        res,
        'DB-HTTP-BAD-REQUEST',
        correlationId,
        'this RDG-Connection-Id already has an OUT channel',
      );
    const timer = setTimeout(() => {
      if (outChannels.get(key)?.paired === false) res.destroy();
    }, PAIRING_MS);
    timer.unref();
    outChannels.set(key, { res, clientIp, paired: false, timer });
    res.once('close', () => {
      clearTimeout(timer);
      if (outChannels.get(key)?.res === res) outChannels.delete(key);
    });
    req.resume();
    // No length: Node sends the body chunked, and it ends only with the tunnel. The seed comes first (3.3.5.1 step 4).
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-cache' });
    res.write(randomBytes(10));
    return;
  }

  const out = outChannels.get(key);
  if (!out || out.paired || out.clientIp !== clientIp || out.res.destroyed) {
    req.resume();
    return respondError(res, 'DB-HTTP-BAD-REQUEST', correlationId, 'no OUT channel waits for this RDG-Connection-Id');
  }
  // The first IN request has no body: its 200 tells the client to send the packet stream as the next request.
  if (req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0') {
    req.resume();
    res.writeHead(200, { 'content-length': '0', 'cache-control': 'no-cache' }).end();
    return;
  }
  out.paired = true;
  clearTimeout(out.timer);
  let ended = false;
  const transport: PacketTransport = {
    write: (packet) => !out.res.destroyed && out.res.write(packet),
    onDrain: (listener) => void out.res.once('drain', listener),
    pause: () => void req.pause(),
    resume: () => void req.resume(),
    close: () => {
      if (ended) return;
      ended = true;
      out.res.end();
      res.shouldKeepAlive = false;
      if (!res.headersSent) res.writeHead(200, { 'content-length': '0' }).end();
      setTimeout(() => {
        out.res.destroy();
        req.socket.destroy();
      }, 2_000).unref();
    },
  };
  const session = runGateway(
    deps,
    app,
    correlationId,
    req,
    transport,
    () => out.res.destroyed || req.destroyed,
    out.res,
    'http',
  );
  req.on('data', (chunk: Buffer) => session.receive(chunk));
  req.once('end', () => session.clientClosed());
  req.once('close', () => session.clientClosed());
  out.res.once('close', () => session.clientClosed());
}
