import https from 'node:https';
import type net from 'node:net';
import { mkdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { EdgeConfig } from '../config/edge-config.ts';
import { tunnelHostOf, loginHostOf } from '../config/edge-config.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/types.ts';
import type { Logger } from '../lib/log.ts';
import { writeSecretFile } from '../pki/files.ts';
import { TUNNEL_ALPN, ENROLL_PATH } from '../tunnel/protocol.ts';
import { loadOrCreateTunnelCa } from './enroll/tunnel-ca.ts';
import { handleEnroll } from './enroll/enroll-handler.ts';
import { createAdminApi } from './admin/admin-api.ts';
import type { AdminRoutePlugin } from './admin/types.ts';
import { CertificateStore } from './listen/certificates.ts';
import { listenPublicPort } from './listen/public-port.ts';
import { RouteTable } from './proxy/routes.ts';
import { createProxyHandler, type SystemHostHandler, type Authenticate } from './proxy/handler.ts';
import { createUpgradeHandler } from './proxy/upgrade.ts';
import { createClientErrorHandler } from './proxy/custom-methods.ts';
import { respondError } from './proxy/respond-error.ts';
import { TunnelRegistry } from './tunnel/registry.ts';
import { ConfigPublisher } from './tunnel/config-publisher.ts';
import { createTunnelServer } from './tunnel/tunnel-endpoint.ts';

export interface RunningEdge {
  publicPort: number;
  adminPort: number;
  adminToken: string;
  store: Store;
  registry: TunnelRegistry;
  /** Stops accepting, lets in-flight requests finish up to `deadlineMs`, then closes everything. */
  close(deadlineMs?: number): Promise<void>;
}

/** Optional parts plugged in by later layers (sign-in) without the core importing them. */
export interface EdgeExtensions {
  authenticate?: Authenticate;
  systemHosts?: Map<string, SystemHostHandler>;
  /** Called once the store is open, to build extensions that need it. */
  setup?(ctx: { store: Store; config: EdgeConfig; logger: Logger; publicPort: () => number }): Promise<Partial<EdgeExtensions> & { close?(): Promise<void>; adminRoutes?: AdminRoutePlugin[] }>;
}

/** Creates the edge from config and starts it: public port (users + tunnels) and admin API. */
export async function startEdge(config: EdgeConfig, logger: Logger, extensions: EdgeExtensions = {}): Promise<RunningEdge> {
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const store = await openStore({ kind: 'sqlite', stateDir: config.stateDir });
  const adminToken = await resolveAdminToken(config);
  const tunnelHost = tunnelHostOf(config);
  const [ca, certificates] = await Promise.all([loadOrCreateTunnelCa(config.stateDir, tunnelHost), CertificateStore.load(config.tls)]);

  const routes = new RouteTable(store);
  await routes.reload();
  const registry = new TunnelRegistry();
  const publisher = new ConfigPublisher(routes, registry, logger);
  let publicPort = config.publicPort ?? config.listen.port;

  const unsubscribe = store.onChange((event) => {
    if (event.kind === 'app' || event.kind === 'group') {
      routes.reload().then(() => publisher.pushAll()).catch((err: Error) => logger.error({ err }, 'routing reload failed'));
    } else if (event.kind === 'connector') {
      void onConnectorChanged(event.tenantId, event.id);
    }
  });
  async function onConnectorChanged(tenantId: string, connectorId: string): Promise<void> {
    const row = await store.connectors.get(tenantId, connectorId);
    const tunnels = registry.tunnelsOfConnector(connectorId);
    if (!row || !row.enabled) {
      for (const t of tunnels) t.session.destroy();
    } else if (tunnels.some((t) => t.groupId !== row.groupId)) {
      registry.regroup(connectorId, row.groupId);
      await Promise.all(tunnels.map((t) => publisher.pushTo(t).catch(() => {})));
    }
  }

  const ext = extensions.setup ? await extensions.setup({ store, config, logger, publicPort: () => publicPort }) : {};
  const systemHosts = new Map<string, SystemHostHandler>([...(extensions.systemHosts ?? []), ...(ext.systemHosts ?? [])]);
  systemHosts.set(tunnelHost, (req, res, correlationId) => {
    if (new URL(req.url ?? '/', 'https://x').pathname === ENROLL_PATH) return handleEnroll(req, res, { store, ca, tunnelHost, logger });
    respondError(res, 'DB-ROUTE-UNKNOWN-HOST', correlationId);
  });

  const proxyDeps = { routes, registry, systemHosts, authenticate: ext.authenticate ?? extensions.authenticate ?? null, logger };
  const handler = createProxyHandler(proxyDeps);
  const onUpgrade = createUpgradeHandler(proxyDeps);
  const serverOptions = {
    requestTimeout: 0, // bodies may stream for hours (RD Gateway); the headers timeout still applies
    headersTimeout: config.limits.headersTimeoutMs,
    keepAliveTimeout: config.limits.keepAliveTimeoutMs,
    maxHeaderSize: config.limits.maxHeaderBytes,
    requireHostHeader: true,
    noDelay: true,
  };
  const publicServer = https.createServer({
    ...serverOptions,
    SNICallback: (name, cb) => cb(null, certificates.select(name)),
    secureContext: certificates.defaultContext,
    ALPNProtocols: ['http/1.1'],
    minVersion: 'TLSv1.2',
  }, handler);
  publicServer.on('upgrade', onUpgrade);
  publicServer.on('clientError', createClientErrorHandler({ handler, serverOptions, logger, onUpgrade }));
  publicServer.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'client TLS handshake failed'));

  const tunnelServer = createTunnelServer({ credentials: ca, tunnelHost, store, registry, publisher, logger, pingIntervalMs: config.tunnel.pingIntervalMs });
  const port = await listenPublicPort({
    host: config.listen.host,
    port: config.listen.port,
    logger,
    route: (info) => (info.alpn.includes(TUNNEL_ALPN) ? tunnelServer : publicServer) as net.Server,
  });
  const listenedPort = (port.address() as net.AddressInfo).port;
  publicPort = config.publicPort ?? listenedPort;

  const admin: FastifyInstance = await createAdminApi({
    store,
    token: adminToken,
    logger,
    defaultExternalUrl: (tenant, app) => `https://${app}-${tenant}.${config.domain}${publicPort === 443 ? '' : `:${publicPort}`}`,
    connectorStatus: (tenantId) => registry.status(tenantId),
    disconnectConnector: (id) => { for (const t of registry.tunnelsOfConnector(id)) t.session.destroy(); },
    extraRoutes: ext.adminRoutes,
  });
  await admin.listen({ host: config.admin.host, port: config.admin.port });
  const adminPort = (admin.server.address() as net.AddressInfo).port;
  logger.info({ publicPort: listenedPort, adminPort, domain: config.domain, tunnelHost, loginHost: loginHostOf(config) }, 'edge ready');

  let closing: Promise<void> | null = null;
  return {
    publicPort: listenedPort,
    adminPort,
    adminToken,
    store,
    registry,
    close(deadlineMs = 10_000) {
      closing ??= (async () => {
        unsubscribe();
        port.close();
        publicServer.close();
        publicServer.closeIdleConnections();
        await admin.close();
        const deadline = setTimeout(() => publicServer.closeAllConnections(), deadlineMs);
        await new Promise<void>((resolve) => publicServer.close(() => resolve()));
        clearTimeout(deadline);
        for (const t of registry.all()) t.session.close();
        await ext.close?.();
        await store.close();
      })();
      return closing;
    },
  };
}

/** The admin token: from config, from its file, or created once in the state dir (0600). */
async function resolveAdminToken(config: EdgeConfig): Promise<string> {
  if (config.admin.token) return config.admin.token;
  const file = config.admin.tokenFile ?? path.join(config.stateDir, 'admin-token');
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 24) return token;
  } catch { /* created below */ }
  const token = `dba_${randomBytes(24).toString('base64url')}`;
  await writeSecretFile(file, token + '\n');
  return token;
}

