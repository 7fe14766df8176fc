import tls from 'node:tls';
import http2 from 'node:http2';
import { randomBytes } from 'node:crypto';
import { TUNNEL_ALPN } from '../../tunnel/protocol.ts';
import { TUNNEL_SESSION_OPTIONS, widenConnectionWindow } from '../../tunnel/flow-control.ts';
import { hello, subscribeEvents } from '../../tunnel/control.ts';
import type { Store } from '../../store/types.ts';
import type { Logger } from '../../lib/log.ts';
import { Tunnel, type TunnelRegistry } from './registry.ts';
import type { ConfigPublisher } from './config-publisher.ts';
import { watchHealth } from './health.ts';
import { receiveBudget } from './receive-budget.ts';
import { tlsProfileOptions } from '../listen/tls-profile.ts';
import { clientAddress } from '../listen/client-address.ts';
import { normalizeSerial } from '../../pki/serial.ts';
import type { CertificateRenewer } from '../enroll/renewal.ts';
import type { NodeAnnouncer } from '../cluster/node-announcer.ts';

export interface TunnelCredentials {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
}

export interface TunnelEndpointDeps {
  credentials: TunnelCredentials;
  tunnelHost: string;
  store: Store;
  registry: TunnelRegistry;
  publisher: ConfigPublisher;
  logger: Logger;
  pingIntervalMs: number;
  /** Renews connector certificates over their tunnels as they near expiry. */
  renewer?: CertificateRenewer;
  /** Tells each tunnel's connector the edge nodes (and that this one drains): edge/cluster/node-announcer.ts. */
  announcer?: NodeAnnouncer;
}

/**
 * The tunnel endpoint: a TLS server that only accepts connector certificates issued by the edge's tunnel CA, then
 * runs the HTTP/2 *client* over each accepted socket (roles reversed: users' requests become streams the edge opens).
 */
export function createTunnelServer(deps: TunnelEndpointDeps): tls.Server {
  const { credentials, logger } = deps;
  const server = tls.createServer({
    key: credentials.serverKeyPem,
    cert: credentials.serverCertPem,
    ca: credentials.caCertPem,
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: [TUNNEL_ALPN],
    // Connectors are ours and all speak TLS 1.3: the tunnel needs nothing older, whatever users' profile is.
    ...tlsProfileOptions('modern'),
  });
  server.on('secureConnection', (socket) => {
    acceptTunnel(socket, deps).catch((err: Error) => {
      logger.warn({ err: err.message, remote: clientAddress(socket) }, 'tunnel setup failed');
      socket.destroy();
    });
  });
  server.on('tlsClientError', (err, socket) => {
    logger.info(
      { err: err.message, remote: clientAddress(socket), code: 'DB-TUNNEL-CERT-REFUSED' },
      'tunnel TLS handshake refused',
    );
  });
  return server;
}

async function acceptTunnel(socket: tls.TLSSocket, deps: TunnelEndpointDeps): Promise<void> {
  const { store, registry, publisher, logger } = deps;
  const cert = socket.getPeerCertificate();
  const connectorId = typeof cert.subject?.CN === 'string' ? cert.subject.CN : '';
  const row = connectorId ? await store.connectors.getById(connectorId) : null;
  const presented = normalizeSerial(cert.serialNumber ?? '');
  // The current certificate, or the one it had before a renewal until it has moved onto the new one.
  const current = row !== null && presented === normalizeSerial(row.certSerial);
  const previous = row?.previousCertSerial != null && presented === normalizeSerial(row.previousCertSerial);
  const refusal = !row
    ? 'unknown connector'
    : !row.enabled
      ? 'connector is disabled'
      : !current && !previous
        ? 'certificate was replaced by a newer registration'
        : null;

  const session = http2.connect(`https://${deps.tunnelHost}`, {
    ...TUNNEL_SESSION_OPTIONS,
    createConnection: () => socket,
  });
  session.on('error', (err) => logger.debug({ connectorId, err: err.message }, 'tunnel session error'));

  if (refusal !== null || row === null) {
    // Tell the connector why in the GOAWAY's debug data, so its log names the fix instead of "connection reset".
    logger.warn(
      { connectorId, remote: clientAddress(socket), code: 'DB-TUNNEL-CERT-REFUSED', reason: refusal },
      'tunnel refused',
    );
    if (row)
      void store.audit.append({
        tenantId: row.tenantId,
        actor: 'edge',
        action: 'connector.refused',
        target: row.id,
        detail: { reason: refusal, address: clientAddress(socket) },
      });
    session.once('connect', () => {
      session.goaway(http2.constants.NGHTTP2_NO_ERROR, 0, Buffer.from(`DB-TUNNEL-CERT-REFUSED ${refusal}`));
      setTimeout(() => session.destroy(), 200).unref();
    });
    return;
  }

  widenConnectionWindow(session);
  const info = await hello(session);
  const tunnel = new Tunnel({
    id: `tun_${randomBytes(6).toString('hex')}`,
    connectorId: row.id,
    tenantId: row.tenantId,
    certSerial: presented,
    groupId: row.groupId,
    session,
    address: clientAddress(socket) ?? null,
    version: info.version,
    hostname: info.hostname,
    // Several processes of one connector (connector run --workers N) each dial their own tunnels: they are told
    // apart by pid, and none replaces another.
    pid: Number.isInteger(info.pid) ? info.pid : null,
    worker: Number.isInteger(info.worker) ? info.worker : null,
  });
  // The connector is draining: from now on no new stream goes here, the open ones finish, then the session closes.
  const draining = (signal: string): void => {
    if (!tunnel.drain()) return;
    logger.info({ connectorId: row.id, tunnelId: tunnel.id, signal }, 'tunnel draining');
    audit('tunnel.draining', { signal });
  };
  // An older connector, or one closing for another reason, sends GOAWAY (Node then closes the session by itself).
  session.on('goaway', (code: number) => draining(`goaway ${code}`));
  const stopEvents = subscribeEvents(session, (event) => {
    if (event.type !== 'draining') return;
    draining(event.reason ? `event: ${event.reason}` : 'event');
    stopEvents();
    closeWhenIdle();
  });
  // Closing sends our GOAWAY, which nghttp2 puts on the wire before the HEADERS of streams opened in the same turn:
  // the connector would then refuse those. So the session closes only once the streams opened before the event are
  // done (none are opened after it).
  const closeWhenIdle = (): void => {
    if (session.closed || session.destroyed) return;
    if (tunnel.inFlight === 0) session.close();
    else setTimeout(closeWhenIdle, 50).unref();
  };
  // Registered before the first config push, so an app published while that push is in flight reaches this tunnel
  // too (pushAll walks the registry); routing passes the tunnel over until the connector acknowledges the app.
  if (session.closed || session.destroyed) return;
  const first = registry.tunnelsOfConnector(row.id).length === 0;
  registry.add(tunnel);
  let up = false;
  let stopHealth = (): void => {};
  session.on('close', () => {
    stopHealth();
    tunnel.retire();
    registry.remove(tunnel);
    if (!up) return;
    logger.info({ connectorId: row.id, tunnelId: tunnel.id, drained: tunnel.draining }, 'tunnel closed');
    void store.connectors.update(row.tenantId, row.id, { lastSeenAt: new Date().toISOString() }).catch(() => {});
    audit(tunnel.draining ? 'tunnel.drained' : 'tunnel.lost');
    if (registry.tunnelsOfConnector(row.id).length === 0)
      audit(tunnel.draining ? 'connector.drained' : 'connector.lost', {}, true);
  });
  await publisher.pushTo(tunnel);
  if (session.closed || session.destroyed) return;
  up = true;
  receiveBudget.watch(tunnel);
  stopHealth = watchHealth(tunnel, {
    intervalMs: deps.pingIntervalMs,
    logger,
    onEject: (reason) => {
      audit('tunnel.ejected', { reason });
      if (registry.tunnelsOfConnector(row.id).every((t) => !t.usable)) audit('connector.ejected', { reason }, true);
    },
    onRestore: () => audit('tunnel.restored'),
  });
  logger.info(
    {
      connectorId: row.id,
      tunnelId: tunnel.id,
      remote: tunnel.address,
      version: info.version,
      pid: tunnel.pid ?? undefined,
      worker: tunnel.worker ?? undefined,
    },
    'tunnel up',
  );
  audit('tunnel.connected', tunnel.pid === null ? {} : { pid: tunnel.pid, worker: tunnel.worker });
  deps.announcer?.welcome(tunnel);
  if (first) audit('connector.connected', { version: info.version, hostname: info.hostname }, true);
  // A connector that dials with its renewed certificate no longer needs the old one accepted.
  const retire = current && row.previousCertSerial !== null ? { previousCertSerial: null } : {};
  await store.connectors.update(row.tenantId, row.id, {
    lastSeenAt: new Date().toISOString(),
    lastAddress: tunnel.address,
    version: info.version,
    hostname: info.hostname,
    ...retire,
  });
  if (deps.renewer) void deps.renewer.maybeRenew(tunnel);

  function audit(action: string, detail: Record<string, unknown> = {}, connectorLevel = false): void {
    void store.audit
      .append({
        tenantId: tunnel.tenantId,
        actor: `connector:${tunnel.connectorId}`,
        action,
        target: tunnel.connectorId,
        detail: connectorLevel
          ? { groupId: tunnel.groupId, address: tunnel.address, ...detail }
          : { tunnelId: tunnel.id, address: tunnel.address, ...detail },
      })
      .catch(() => {});
  }
}
