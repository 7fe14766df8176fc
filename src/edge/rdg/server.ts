/**
 * The edge's built-in RD Gateway for apps of kind `rdp` (internal URL `rdp://host:port`, tunnel/rdp.ts):
 *
 *   - on the app's host, after the usual sign-in, `/.drawbridge/rdp/connect.rdp` downloads a connection file with
 *     the gateway (this host), the target and a fresh gateway access token (access.ts); `/` says how to connect;
 *   - the gateway endpoint (`/remoteDesktopGateway/`, WebSocket transport: RDG_OUT_DATA or GET with Upgrade) speaks
 *     [MS-TSGU] with the client (gateway.ts), authorises the token, and carries the RDP bytes through ONE tunnel
 *     stream to a connector of the app's group (proxy/stream-to-group.ts), marked with RDP_TARGET_HEADER;
 *   - the channel is registered with continuous access evaluation; every tunnel ends in one audit event.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import http2 from 'node:http2';
import type { App, Store } from '../../store/types.ts';
import type { Logger } from '../../lib/log.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import { APP_HEADER, ERROR_HEADER, IDENTITY_HEADER, REQUEST_ID_HEADER, encodeIdentity } from '../../tunnel/protocol.ts';
import { RDP_TARGET_HEADER, formatTarget, rdpTarget, type RdpTarget } from '../../tunnel/rdp.ts';
import type { TunnelRegistry } from '../tunnel/registry.ts';
import { streamToGroup } from '../proxy/stream-to-group.ts';
import { clientAddress } from '../listen/client-address.ts';
import { GatewaySession, type GatewaySummary, type PacketTransport } from './gateway.ts';
import { FrameReader, OPCODE, acceptKey, encodeFrame, WebSocketProtocolError } from './websocket.ts';
import type { GatewayAccess, GatewayGrant } from './access.ts';
import type { Closable } from '../cae/continuous-access.ts';
import { CONNECT_FILE_PATH, connectFile } from './connect-file.ts';

export const GATEWAY_PATH = '/remoteDesktopGateway/';
/** `websocket`: one upgraded connection; `http`: the legacy RDG_OUT_DATA / RDG_IN_DATA pair (legacy.ts). */
export type TransportKind = 'websocket' | 'http';
export { CONNECT_FILE_PATH };

export interface RdgDeps {
  registry: TunnelRegistry;
  logger: Logger;
  gateway: GatewayAccess | null;
  store: Store;
}

export function isRdpApp(app: App): boolean {
  return rdpTarget(app.internalUrl) !== null;
}

/** True for a request the gateway itself answers (its endpoint), before any cookie-based sign-in. */
export function isGatewayRequest(req: IncomingMessage): boolean {
  const path = (req.url ?? '').split('?')[0].toLowerCase();
  return path === GATEWAY_PATH.toLowerCase() || path === GATEWAY_PATH.slice(0, -1).toLowerCase();
}

/** A signed-in request on an rdp app's host: the connection file, or a page saying how to connect. */
export function serveRdpAppHost(
  deps: RdgDeps,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  identity: Identity,
): void {
  const target = rdpTarget(app.internalUrl) as RdpTarget;
  const path = (req.url ?? '/').split('?')[0];
  const gatewayHost = req.headers.host ?? app.externalHost;
  res.setHeader('cache-control', 'no-store');
  if (path === CONNECT_FILE_PATH) {
    const minted = deps.gateway?.mint(req, app);
    if (!minted)
      return void res.writeHead(500, { 'content-type': 'text/plain' }).end('no gateway access token could be minted\n');
    deps.logger.info({ appId: app.id, userId: identity.userId }, 'gateway access token minted');
    res
      .writeHead(200, {
        'content-type': 'application/x-rdp',
        'content-disposition': `attachment; filename="${app.name}.rdp"`,
      })
      .end(connectFile({ gatewayHost, target, token: minted.token, username: identity.onPremName ?? identity.upn }));
    return;
  }
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res
    .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    .end(`<!doctype html><meta charset="utf-8"><title>${esc(app.name)}</title>
<h1>${esc(app.name)}: remote desktop</h1>
<p><a href="${CONNECT_FILE_PATH}">Connect</a> downloads a connection file for Remote Desktop (mstsc, the Windows App) with a gateway access token valid for a few minutes.</p>
<p>FreeRDP: <code>xfreerdp /v:${esc(formatTarget(target))} /g:${esc(gatewayHost)} /gt:http /gat:&lt;token from the file&gt;</code></p>`);
}

/** The gateway endpoint over WebSocket (FreeRDP and current Windows clients try it first). */
export function handleGatewayUpgrade(
  deps: RdgDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  app: App,
  correlationId: string,
): void {
  const key = req.headers['sec-websocket-key'];
  if (!/^websocket$/i.test(String(req.headers.upgrade ?? '')) || typeof key !== 'string') {
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    return;
  }
  // A client that brought no token offers Windows authentication (NTLM, Negotiate) at the HTTP level and waits for
  // a challenge: it gets a plain refusal instead, with the code, and the attempt is logged.
  if (offersWindowsAuth(deps, req, app, correlationId)) {
    socket.end(
      'HTTP/1.1 401 Unauthorized\r\nx-drawbridge-error: DB-RDG-TOKEN-INVALID\r\nconnection: close\r\ncontent-length: 0\r\n\r\n',
    );
    return;
  }
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${acceptKey(key)}\r\n\r\n`,
  );
  const frames = new FrameReader();
  const transport: PacketTransport = {
    write: (packet) => socket.writable && socket.write(encodeFrame(OPCODE.BINARY, packet)),
    onDrain: (listener) => void socket.once('drain', listener),
    pause: () => void socket.pause(),
    resume: () => void socket.resume(),
    close: () => {
      if (socket.destroyed) return;
      socket.end(encodeFrame(OPCODE.CLOSE, Buffer.from([0x03, 0xe8])));
      setTimeout(() => socket.destroy(), 2_000).unref();
    },
  };
  const session = runGateway(deps, app, correlationId, req, transport, () => socket.destroyed, socket, 'websocket');
  const onBytes = (chunk: Buffer): void => {
    let list;
    try {
      list = frames.push(chunk);
    } catch (err) {
      deps.logger.info(
        { correlationId, err: (err as WebSocketProtocolError).message },
        'RD Gateway WebSocket framing error',
      );
      socket.destroy();
      return;
    }
    for (const f of list) {
      if (f.opcode === OPCODE.BINARY || f.opcode === OPCODE.CONTINUATION) session.receive(f.payload);
      else if (f.opcode === OPCODE.PING) socket.write(encodeFrame(OPCODE.PONG, f.payload));
      else if (f.opcode === OPCODE.CLOSE) {
        session.clientClosed();
        return;
      }
    }
  };
  socket.on('data', onBytes);
  socket.once('close', () => session.clientClosed());
  if (head.length > 0) onBytes(head);
}

/**
 * A client that brought no token offers Windows authentication (NTLM, Negotiate) at the HTTP level and waits for a
 * challenge: it is refused instead (DB-RDG-TOKEN-INVALID), and the attempt is logged.
 */
export function offersWindowsAuth(deps: RdgDeps, req: IncomingMessage, app: App, correlationId: string): boolean {
  const authorization = String(req.headers.authorization ?? '');
  if (authorization === '' || /^PAA$/i.test(String(req.headers['rdg-auth-scheme'] ?? ''))) return false;
  deps.logger.info(
    {
      correlationId,
      appId: app.id,
      code: 'DB-RDG-TOKEN-INVALID',
      scheme: authorization.split(' ')[0],
      clientIp: clientAddress(req.socket) ?? null,
    },
    'RD Gateway refused the tunnel',
  );
  return true;
}

/** One gateway session: authorisation, the tunnel stream, continuous access evaluation, the audit event. */
export function runGateway(
  deps: RdgDeps,
  app: App,
  correlationId: string,
  req: IncomingMessage,
  transport: PacketTransport,
  clientGone: () => boolean,
  closed: Closable,
  kind: TransportKind,
): GatewaySession {
  const { logger } = deps;
  const startedAt = Date.now();
  const clientIp = clientAddress(req.socket) ?? null;
  let grant: GatewayGrant | null = null;
  let refusal: string | null = null;
  const log = logger.child({ correlationId, appId: app.id, component: 'rdg', transport: kind });
  const session: GatewaySession = new GatewaySession(transport, {
    async authorise(token) {
      if (!deps.gateway) return { ok: false, reason: 'sign-in is not configured on this edge' };
      const verdict = await deps.gateway.authorise(token, app);
      if (!verdict.ok) {
        refusal = verdict.code;
        return { ok: false, reason: verdict.reason };
      }
      grant = verdict.grant;
      const g = grant;
      // Revoking the user, disabling them or ending their sign-in closes the channel (edge/cae/).
      deps.gateway.track(g, closed, (code, reason) => {
        log.info({ userId: g.session.userId, code }, 'continuous access evaluation closes an RD Gateway channel');
        session.terminate(`${code}: ${reason}`);
      });
      return { ok: true, target: rdpTarget(app.internalUrl) as RdpTarget };
    },
    openChannel(target) {
      return openTunnelStream(deps, app, target, correlationId, grant as GatewayGrant, clientIp, clientGone);
    },
    onStep(step, detail) {
      log.debug({ step, ...detail }, 'RD Gateway step');
    },
    onEnd(summary) {
      refusal ??= summary.code;
      if (summary.outcome === 'refused')
        log.info(
          { code: refusal, reason: summary.reason, userId: grant?.session.userId, clientIp },
          'RD Gateway refused the tunnel',
        );
      audit(deps, app, grant, summary, startedAt, correlationId, clientIp, refusal, kind);
      log.info(
        {
          outcome: summary.outcome,
          reason: summary.reason,
          bytesToTarget: summary.bytesToTarget,
          bytesFromTarget: summary.bytesFromTarget,
        },
        'RD Gateway tunnel ended',
      );
    },
  });
  return session;
}

function openTunnelStream(
  deps: RdgDeps,
  app: App,
  target: RdpTarget,
  correlationId: string,
  grant: GatewayGrant,
  clientIp: string | null,
  clientGone: () => boolean,
): Promise<Duplex | { error: string }> {
  return new Promise((resolve) => {
    const headers = {
      ':method': 'POST',
      ':path': '/',
      ':scheme': 'https',
      ':authority': app.externalHost,
      [APP_HEADER]: app.id,
      [REQUEST_ID_HEADER]: correlationId,
      [IDENTITY_HEADER]: encodeIdentity(grant.identity),
      [RDP_TARGET_HEADER]: formatTarget(target),
      'x-forwarded-for': clientIp ?? '',
    };
    let current: http2.ClientHttp2Stream | null = null;
    streamToGroup(
      deps.registry,
      {
        groupId: app.groupId,
        appId: app.id,
        headers,
        correlationId,
        logger: deps.logger,
        options: { endStream: false },
        // Nothing of the client's reaches the stream before the connector answers: any attempt may be repeated.
        idempotent: true,
        resendable: () => true,
        wanted: () => !clientGone(),
      },
      {
        onOpen(stream) {
          current = stream;
        },
        onFail(code) {
          resolve({ error: code });
        },
        onResponse(stream, h) {
          const code = h[ERROR_HEADER];
          if (code !== undefined || Number(h[':status']) !== 200) {
            stream.close(http2.constants.NGHTTP2_CANCEL);
            return resolve({ error: String(code ?? `status ${h[':status']}`) });
          }
          resolve(stream);
        },
      },
    );
    void current;
  });
}

function audit(
  deps: RdgDeps,
  app: App,
  grant: GatewayGrant | null,
  s: GatewaySummary,
  startedAt: number,
  correlationId: string,
  clientIp: string | null,
  code: string | null,
  transport: TransportKind,
): void {
  const ended = Date.now();
  deps.store.audit
    .append({
      tenantId: app.tenantId,
      actor: grant ? `user:${grant.session.userId}` : 'edge',
      // A session is a channel that opened; anything that ended before is a refused (or failed) attempt.
      action: s.channelOpenedAt === null ? 'rdp.session.refused' : 'rdp.session',
      target: app.id,
      detail: {
        user: grant?.identity.upn ?? null,
        app: app.name,
        target: app.internalUrl,
        clientIp,
        clientName: s.clientName,
        outcome: s.outcome,
        reason: s.reason,
        code,
        bytesToTarget: s.bytesToTarget,
        bytesFromTarget: s.bytesFromTarget,
        durationMs: ended - (s.channelOpenedAt ?? startedAt),
        transport,
        correlationId,
      },
    })
    .catch((err: Error) => deps.logger.error({ err, correlationId }, 'audit write failed'));
}

export function refuseNotGateway(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' }).end(`${http.STATUS_CODES[404]}\n`);
}
