import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type net from 'node:net';
import type tls from 'node:tls';
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
import { AppCertificates } from './listen/app-certificates.ts';
import { AcmeManager } from './acme/acme-manager.ts';
import { createAlpnChallengeServer, isAcmeValidation } from './acme/alpn-challenge.ts';
import { tlsProfileOptions } from './listen/tls-profile.ts';
import { listenPublicPort } from './listen/public-port.ts';
import { listenHttpRedirect } from './listen/http-redirect.ts';
import type { ClientHelloInfo } from './listen/client-hello.ts';
import { trackConnections, connectionsCheckingInterval, closeFailedHandshakes } from './listen/connection-timeouts.ts';
import { ClientLimits } from './listen/client-limits.ts';
import { AddressRanges } from '../lib/address-ranges.ts';
import { setBodyIdleTimeout } from './listen/body-idle.ts';
import { RouteTable } from './proxy/routes.ts';
import { createProxyHandler, type SystemHostHandler, type Authenticate } from './proxy/handler.ts';
import { createUpgradeHandler } from './proxy/upgrade.ts';
import type { GatewayAccess } from './rdg/access.ts';
import type { TrackLongLived } from './cae/continuous-access.ts';
import type { AuthorizeChannel } from './proxy/tcp-channel.ts';
import type { CliLogin } from './proxy/handler.ts';
import { serveEdgeHttp1 } from './proxy/http1.ts';
import { serveEdgeHttp2 } from './proxy/http2.ts';
import { respondError } from './proxy/respond-error.ts';
import { TunnelRegistry } from './tunnel/registry.ts';
import { ConfigPublisher } from './tunnel/config-publisher.ts';
import { createTunnelServer } from './tunnel/tunnel-endpoint.ts';
import { createAssertionMinter, jwksDocument, loadOrCreateSigningKeys, JWKS_PATH } from './sso/assertion.ts';
import { CertificateRenewer } from './enroll/renewal.ts';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { HEARTBEAT_MS, nodeIdOf, startNodeRegistry, tunnelsPerConnector } from './cluster/registry.ts';
import { RELAY_ALPN, startNodeCredentials } from './cluster/relay-credentials.ts';
import { RelayPeers } from './cluster/relay-peers.ts';
import { createRelayServer } from './cluster/relay-server.ts';
import { NodeAnnouncer } from './cluster/node-announcer.ts';
import { edgeRoutes } from './admin/routes/edges.ts';
import { EdgeMetrics } from './metrics.ts';
import type { EdgeTracing } from './proxy/tracing.ts';
import { SpanSink } from '../lib/trace-context.ts';
import { createOtlpExporter, type OtlpExporter } from '../lib/otlp-export.ts';
import { setLogLevel } from '../lib/log.ts';
import { restartOnlyChanges } from './reload.ts';
import { sendEdgeEvent } from '../tunnel/control.ts';
import { createConsoleHost } from './console/console-host.ts';
import { createAdminClient } from './console/admin-client.ts';
import { consoleCredentials } from './console/credentials.ts';
import { consoleHostOf } from './signin/console-access.ts';

export interface RunningEdge {
  publicPort: number;
  /** The plain-HTTP port that redirects to HTTPS (listen.httpPort), or null when there is none. */
  httpPort: number | null;
  /** Where this node is reached directly (its own port when it is one of several workers; else the public port). */
  directPort: number;
  /** Its id in the node registry. */
  nodeId: string;
  adminPort: number;
  adminToken: string;
  store: Store;
  registry: TunnelRegistry;
  /**
   * Applies a re-read configuration without dropping a connection (SIGHUP): certificates, TLS profile, limits, log
   * level and tracing change live; what cannot change without a restart is returned (and logged) by name.
   */
  reload(next: EdgeConfig): Promise<{ restartNeeded: string[] }>;
  /** Stops accepting, lets in-flight requests finish up to `deadlineMs`, then closes everything. */
  close(deadlineMs?: number): Promise<void>;
}

/** Optional parts plugged in by later layers (sign-in) without the core importing them. */
export interface EdgeExtensions {
  authenticate?: Authenticate;
  /** Continuous access evaluation's hook on the request path (edge/cae/continuous-access.ts). */
  track?: TrackLongLived;
  /** TCP apps' channel authorisation (edge/signin/tcp-access.ts). */
  authorizeChannel?: AuthorizeChannel;
  cliLogin?: CliLogin;
  systemHosts?: Map<string, SystemHostHandler>;
  /** Gateway access tokens for the built-in RD Gateway (edge/rdg/access.ts), from the sign-in layer. */
  gateway?: GatewayAccess;
  /** Called once the store is open, to build extensions that need it. */
  setup?(ctx: {
    store: Store;
    config: EdgeConfig;
    logger: Logger;
    publicPort: () => number;
    metrics?: EdgeMetrics;
  }): Promise<Partial<EdgeExtensions> & { close?(): Promise<void>; adminRoutes?: AdminRoutePlugin[] }>;
}

/** Creates the edge from config and starts it: public port (users + tunnels) and admin API. */
/** How this process takes part in `drawbridge edge --workers N`. */
export interface EdgeProcessOptions {
  /**
   * A worker shares the public port with its siblings (the cluster primary hands out connections), and is reached
   * directly — by connectors spreading their tunnels and by other nodes relaying — on a port of its own: this one
   * (0: any free port). It becomes the node's advertised address.
   */
  directPort?: number;
}

export async function startEdge(
  config: EdgeConfig,
  logger: Logger,
  extensions: EdgeExtensions = {},
  processOptions: EdgeProcessOptions = {},
): Promise<RunningEdge> {
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const store = await openStore(
    config.store?.kind === 'postgres'
      ? { kind: 'postgres', url: config.store.url }
      : { kind: 'sqlite', stateDir: config.stateDir },
  );
  const adminToken = await resolveAdminToken(config);
  const tunnelHost = tunnelHostOf(config);
  const [ca, certificates] = await Promise.all([
    loadOrCreateTunnelCa(store, config.stateDir, tunnelHost),
    CertificateStore.load(config.tls, config.tlsProfile),
  ]);

  const routes = new RouteTable(store);
  await routes.reload();
  const appCertificates = new AppCertificates({ store, certificates, apps: () => routes.all(), logger });
  await appCertificates.reload();
  // Custom domains without a certificate of their own get one through ACME (edge/acme/), when configured.
  const acmeManager = config.acme
    ? new AcmeManager({
        store,
        config: config.acme,
        logger,
        candidates: () =>
          routes
            .all()
            .filter((a) => a.enabled && !a.externalHost.startsWith('*.') && !certificates.covers(a.externalHost)),
      })
    : null;
  const reloadCertificates = (): void => {
    appCertificates.reload().catch((err: Error) => logger.error({ err }, 'app certificates reload failed'));
  };
  const registry = new TunnelRegistry();
  // Prometheus metrics at <admin URL>/metrics (edge/metrics.ts).
  const metrics = new EdgeMetrics();
  metrics.readTunnelsFrom(() => registry.all());
  registry.onRelayStream = () => metrics.relayed('out');
  // Tracing (config tracing:, proxy/tracing.ts): one object the request path reads, changed in place on reload.
  const tracing: EdgeTracing = { sink: null, sampleRatio: 1 };
  let exporter: OtlpExporter | null = null;
  const applyTracing = (settings: EdgeConfig['tracing']): void => {
    const previous = exporter;
    exporter =
      settings.enabled && settings.otlpEndpoint
        ? createOtlpExporter({ endpoint: settings.otlpEndpoint, serviceName: settings.serviceName, logger })
        : null;
    void previous?.close();
    const exportTo = exporter;
    tracing.sink = settings.enabled
      ? new SpanSink(logger.child({ component: 'trace' }), exportTo && ((span) => exportTo.add(span)))
      : null;
    tracing.sampleRatio = settings.sampleRatio;
  };
  applyTracing(config.tracing);
  const publisher = new ConfigPublisher(routes, registry, logger);
  let publicPort = config.publicPort ?? config.listen.port;

  const unsubscribe = store.onChange((event) => {
    if (event.kind === 'app' || event.kind === 'group') {
      routes
        .reload()
        .then(() => {
          publisher.pushAll();
          if (event.kind === 'app') {
            reloadCertificates(); // a certificate follows its app's host and enabled flag
            void acmeManager?.check();
          }
        })
        .catch((err: Error) => logger.error({ err }, 'routing reload failed'));
    } else if (event.kind === 'certificate') {
      reloadCertificates();
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

  const ext = extensions.setup
    ? await extensions.setup({ store, config, logger, publicPort: () => publicPort, metrics })
    : {};
  const systemHosts = new Map<string, SystemHostHandler>([
    ...(extensions.systemHosts ?? []),
    ...(ext.systemHosts ?? []),
  ]);
  // Header SSO: the edge signs assertions and publishes its public keys on the login and tunnel hosts.
  const signingKeys = await loadOrCreateSigningKeys(store, config.stateDir);
  const jwks = jwksDocument(signingKeys.published);
  const loginUrl = (): string => `https://${loginHostOf(config)}${publicPort === 443 ? '' : `:${publicPort}`}`;
  const assertion = createAssertionMinter(signingKeys.active, loginUrl);
  // Every answer of the edge's own hosts (sign-in, portal, enrollment) passes here: the place for HSTS. No
  // includeSubDomains: apps are subdomains of the same base and keep their own setting.
  // Set when the edge starts draining: its health check fails from then on.
  let closing = false;
  /**
   * A node that joins a cluster answers its health check with 503 for two heartbeats: time for it to learn its peers
   * (the relay) and for connectors to learn of it, so the load balancer sends it clients only once it can serve
   * them. A node alone (no other live node) is ready at once.
   */
  let warming = false;
  let warmUntil: number | null = null;
  const withJwks =
    (next: SystemHostHandler | undefined): SystemHostHandler =>
    (req, res, correlationId) => {
      res.setHeader('strict-transport-security', 'max-age=31536000');
      const pathname = new URL(req.url ?? '/', 'https://x').pathname;
      // What a load balancer checks (haproxy option httpchk): 503 once this node drains, so it gets no new clients.
      if (pathname === HEALTH_PATH) {
        res
          .writeHead(closing || warming ? 503 : 200, { 'content-type': 'text/plain', 'cache-control': 'no-store' })
          .end(closing ? 'draining\n' : warming ? 'starting\n' : 'ok\n');
        return;
      }
      if (pathname === JWKS_PATH) {
        res
          .writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' })
          .end(jwks);
        return;
      }
      if (next) return next(req, res, correlationId);
      respondError(res, 'DB-ROUTE-UNKNOWN-HOST', correlationId);
    };
  systemHosts.set(loginHostOf(config), withJwks(systemHosts.get(loginHostOf(config))));
  systemHosts.set(
    tunnelHost,
    withJwks((req, res, correlationId) => {
      if (new URL(req.url ?? '/', 'https://x').pathname === ENROLL_PATH)
        return handleEnroll(req, res, {
          store,
          ca,
          tunnelHost,
          logger,
          certValidityDays: config.tunnel.certValidityDays,
        });
      respondError(res, 'DB-ROUTE-UNKNOWN-HOST', correlationId);
    }),
  );

  const proxyDeps = {
    maxHeaderCount: config.limits.maxHeaderCount,
    routes,
    registry,
    systemHosts,
    authenticate: ext.authenticate ?? extensions.authenticate ?? null,
    logger,
    assertion,
    track: ext.track ?? extensions.track ?? null,
    tracing,
    authorizeChannel: ext.authorizeChannel ?? extensions.authorizeChannel ?? null,
    cliLogin: ext.cliLogin ?? extensions.cliLogin ?? null,
    rdg: { registry, logger, store, gateway: ext.gateway ?? extensions.gateway ?? null },
  };
  // Drain bookkeeping: requests and upgraded connections in flight (sockets reach the servers through emit, so the
  // servers' own close() cannot wait for them).
  let active = 0;
  const upgraded = new Set<Duplex>();
  let onIdle: (() => void) | null = null;
  const proxyHandler = createProxyHandler(proxyDeps);
  const upgradeHandler = createUpgradeHandler(proxyDeps);
  // What one client may hold (connections, requests in progress, a stalled body): docs/configuration.md, limits.
  const clientLimits = new ClientLimits({
    maxConnectionsPerClient: config.limits.maxConnectionsPerClient,
    maxRequestsPerClient: config.limits.maxRequestsPerClient,
    logger,
  });
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    active++;
    const startedAt = performance.now();
    if (closing) res.shouldKeepAlive = false;
    res.once('close', () => {
      metrics.requestDone(res, startedAt); // the one place requests are counted (edge/metrics.ts)
      active--;
      if (active === 0 && upgraded.size === 0) onIdle?.();
    });
    if (!clientLimits.admit(req, res)) return;
    setBodyIdleTimeout(req, config.limits.bodyIdleTimeoutMs, logger);
    proxyHandler(req, res);
  };
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    upgraded.add(socket);
    socket.once('close', () => {
      upgraded.delete(socket);
      if (active === 0 && upgraded.size === 0) onIdle?.();
    });
    if (!clientLimits.admitUpgrade(req, socket)) return;
    upgradeHandler(req, socket, head);
  };
  const serverOptions = {
    requestTimeout: 0, // bodies may stream for hours (RD Gateway); the headers timeout still applies
    headersTimeout: config.limits.headersTimeoutMs,
    keepAliveTimeout: config.limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: connectionsCheckingInterval(config.limits.headersTimeoutMs),
    handshakeTimeout: config.limits.handshakeTimeoutMs, // TLS servers only: ClientHello sent, then silence
    maxHeaderSize: config.limits.maxHeaderBytes,
    requireHostHeader: false, // the request path answers a missing Host with its own code
    noDelay: true,
  };
  const publicTls = {
    SNICallback: (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) =>
      cb(null, certificates.select(name)),
    ...certificates.defaultCredentials, // what a client without SNI gets (the server ignores a secureContext option)
    handshakeTimeout: config.limits.handshakeTimeoutMs,
    ...tlsProfileOptions(config.tlsProfile),
  };
  const publicServer = https.createServer({ ...serverOptions, ...publicTls, ALPNProtocols: ['http/1.1'] });
  // Clients that offer h2 reach an HTTP/2 server of their own (the public port routes by ClientHello); both feed
  // the same request path with the same limits (proxy/http2.ts).
  const h2 = serveEdgeHttp2({
    tls: publicTls,
    handler,
    maxHeaderBytes: config.limits.maxHeaderBytes,
    maxHeaderCount: config.limits.maxHeaderCount,
    idleTimeoutMs: config.limits.keepAliveTimeoutMs,
    logger,
  });
  closeFailedHandshakes(h2.server);
  clientLimits.countConnections(h2.server);
  h2.server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'client TLS handshake failed'));
  // One more than allowed, so the request path sees (and refuses) a request over the limit; Node drops the rest. (A
  // server property, not a createServer option; the sibling below copies it.)
  publicServer.maxHeadersCount = config.limits.maxHeaderCount + 1;
  // Connections that carried an extension method (RDG_OUT_DATA …) live on in a sibling server: same timeouts, same drain.
  const { sibling } = serveEdgeHttp1(publicServer, { handler, onUpgrade, serverOptions, logger });
  trackConnections(sibling);
  // The public port hands sockets over with emit('connection'): Node's header timeouts need this (listen/connection-timeouts.ts).
  trackConnections(publicServer);
  closeFailedHandshakes(publicServer);
  clientLimits.countConnections(publicServer);
  publicServer.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'client TLS handshake failed'));

  const renewer = new CertificateRenewer({
    store,
    ca,
    logger,
    validityDays: config.tunnel.certValidityDays,
    renewBeforeDays: config.tunnel.certRenewBeforeDays,
  });
  // Connectors stay connected for months: look for certificates entering the renewal window every hour too.
  const renewalCheck = setInterval(() => {
    const seen = new Set<string>();
    for (const t of registry.all()) {
      if (!t.usable || seen.has(t.connectorId)) continue;
      seen.add(t.connectorId);
      void renewer.maybeRenew(t);
    }
  }, 3_600_000);
  renewalCheck.unref();
  // The relay between edge nodes (edge/cluster/relay-*.ts): a request for a group this node holds no usable tunnel
  // of goes to a peer node that does, over mutual TLS with node certificates of the shared tunnel CA.
  const nodeId = nodeIdOf(config);
  const nodeCredentials = await startNodeCredentials(
    ca,
    nodeId,
    (c) => relay.setCredentials(c),
    (err) => logger.error({ err }, 'relay: node certificate renewal failed'),
  );
  const relayPeers = new RelayPeers({ selfId: nodeId, credentials: () => nodeCredentials.current(), logger });
  registry.usePeers(relayPeers);
  const relay = createRelayServer({
    credentials: nodeCredentials.current(),
    registry,
    routes,
    logger,
    onStream: (stream) => {
      metrics.relayed('in');
      active++;
      stream.once('close', () => {
        active--;
        if (active === 0 && upgraded.size === 0) onIdle?.();
      });
    },
  });
  // Connectors learn the edge nodes over their tunnels, and that this node drains (edge/cluster/node-announcer.ts).
  const announcer = new NodeAnnouncer({ registry, selfId: () => nodeId, logger });
  const tunnelServer = createTunnelServer({
    credentials: ca,
    tunnelHost,
    store,
    registry,
    publisher,
    logger,
    pingIntervalMs: config.tunnel.pingIntervalMs,
    renewer,
    announcer,
  });
  const acmeServer = createAlpnChallengeServer({ store, logger, handshakeTimeoutMs: config.limits.handshakeTimeoutMs });
  const portOptions = {
    host: config.listen.host,
    logger,
    helloTimeoutMs: config.limits.handshakeTimeoutMs,
    trustedProxies: new AddressRanges(config.listen.trustedProxies),
    route: (info: ClientHelloInfo) =>
      (info.alpn.includes(TUNNEL_ALPN)
        ? tunnelServer
        : info.alpn.includes(RELAY_ALPN)
          ? relay.server
          : isAcmeValidation(info.alpn)
            ? acmeServer
            : info.alpn.includes('h2')
              ? h2.server
              : publicServer) as net.Server,
  };
  const port = await listenPublicPort({ ...portOptions, port: config.listen.port });
  const listenedPort = (port.address() as net.AddressInfo).port;
  const direct =
    processOptions.directPort === undefined
      ? null
      : await listenPublicPort({ ...portOptions, port: processOptions.directPort, exclusive: true });
  const directPort = direct ? (direct.address() as net.AddressInfo).port : listenedPort;
  publicPort = config.publicPort ?? listenedPort;
  acmeManager?.start(); // once the public port answers TLS-ALPN-01 validations
  // The plain-HTTP port: 308 to HTTPS for hosts the edge serves, nothing else (listen/http-redirect.ts).
  const httpServer =
    config.listen.httpPort === undefined
      ? null
      : await listenHttpRedirect({
          host: config.listen.host,
          port: config.listen.httpPort,
          routes,
          systemHosts: () => systemHosts.keys(),
          publicPort: () => publicPort,
          logger,
          serverOptions,
        });
  if (httpServer) clientLimits.countConnections(httpServer);
  // The node registry (edge/cluster/): this node, its tunnels and load, heart-beating until close.
  const nodes = await startNodeRegistry({
    config,
    store,
    listenedPort: directPort,
    logger,
    nodeId,
    load: () => ({ inFlight: active + upgraded.size, tunnels: tunnelsPerConnector(registry.all()) }),
    onNodes: (list) => {
      relayPeers.update(list);
      announcer.update(list);
      if (warmUntil === null) {
        // The first list (at start): joining others, stay out of the load balancer for two heartbeats.
        warmUntil = list.some((n) => n.id !== nodeId) ? Date.now() + 2 * HEARTBEAT_MS : 0;
        warming = warmUntil > 0;
        if (warming)
          setTimeout(() => {
            warming = false;
          }, 2 * HEARTBEAT_MS).unref();
      }
    },
  });

  const admin: FastifyInstance = await createAdminApi({
    store,
    token: adminToken,
    logger,
    defaultExternalUrl: (tenant, app) =>
      `https://${app}-${tenant}.${config.domain}${publicPort === 443 ? '' : `:${publicPort}`}`,
    connectorStatus: (tenantId) => registry.status(tenantId),
    disconnectConnector: (id) => {
      for (const t of registry.tunnelsOfConnector(id)) t.session.destroy();
    },
    renewConnectorCertificate: (id, actor) => {
      const tunnel = registry.tunnelsOfConnector(id).find((t) => t.usable && !t.session.closed && !t.session.destroyed);
      if (!tunnel) throw new DrawbridgeError('DB-CONNECTOR-NOT-CONNECTED', `connector ${id} has no live tunnel`);
      return renewer.renew(tunnel, actor);
    },
    testConnection: async (groupId, appId) => {
      const tunnel = registry
        .tunnelsOfGroup(groupId)
        .find((t) => t.usable && !t.session.closed && !t.session.destroyed);
      if (!tunnel)
        throw new DrawbridgeError(
          'DB-CONNECTOR-NOT-CONNECTED',
          `no connector of group ${groupId} has a live tunnel to this edge node`,
        );
      const ack = await sendEdgeEvent(tunnel.session, { type: 'test-connection', appId }, 20_000);
      if (!ack?.connectionTest)
        throw new DrawbridgeError(
          'DB-CONNECTOR-NOT-CONNECTED',
          `connector ${tunnel.connectorId} does not offer test connection (an older version)`,
        );
      const row = await store.connectors.getById(tunnel.connectorId);
      return { ...ack.connectionTest, ...(row ? { connectorName: row.name } : {}) };
    },
    restartConnector: async (id) => {
      const tunnel = registry.tunnelsOfConnector(id).find((t) => t.usable && !t.session.closed && !t.session.destroyed);
      if (!tunnel) throw new DrawbridgeError('DB-CONNECTOR-NOT-CONNECTED', `connector ${id} has no live tunnel`);
      const ack = await sendEdgeEvent(tunnel.session, { type: 'restart', reason: 'requested by an administrator' });
      return ack?.restarting === true;
    },
    extraRoutes: [...(ext.adminRoutes ?? []), edgeRoutes(nodes)],
    metrics,
  });
  await admin.listen({ host: config.admin.host, port: config.admin.port });
  // The admin console on admin.<domain> (edge/console/): pages over the admin API, called in process with the
  // administrator's authority (a token minted for their role: console/credentials.ts).
  const portSuffix = (): string => (publicPort === 443 ? '' : `:${publicPort}`);
  systemHosts.set(
    consoleHostOf(config.domain),
    withJwks(
      createConsoleHost({
        store,
        keys: store.identityKeys,
        adminToken,
        client: createAdminClient(admin, consoleCredentials(store, adminToken)),
        origin: () => `https://${consoleHostOf(config.domain)}${portSuffix()}`,
        loginOrigin: () => `https://${loginHostOf(config)}${portSuffix()}`,
        authenticate: proxyDeps.authenticate,
        logger: logger.child({ component: 'console' }),
      }),
    ),
  );
  const adminPort = (admin.server.address() as net.AddressInfo).port;
  const nodeRegistry = nodes;
  logger.info(
    { publicPort: listenedPort, adminPort, domain: config.domain, tunnelHost, loginHost: loginHostOf(config) },
    'edge ready',
  );

  // The configuration as last applied: what a reload compares against.
  let current = config;
  const servers = [publicServer, sibling, ...(httpServer ? [httpServer] : [])];
  async function reload(next: EdgeConfig): Promise<{ restartNeeded: string[] }> {
    // Certificates first: a file that does not load leaves everything as it was (the error reaches the caller).
    const nextCertificates = await CertificateStore.load(next.tls, next.tlsProfile);
    const profileChanged = next.tlsProfile !== certificates.profile;
    certificates.adopt(nextCertificates);
    publicServer.setSecureContext({ ...certificates.defaultCredentials, ...tlsProfileOptions(next.tlsProfile) });
    if (profileChanged) reloadCertificates(); // apps' own certificates get the new profile too
    // Limits: the servers' timeouts and header count for new requests; per-client limits at once.
    for (const server of servers) {
      server.headersTimeout = next.limits.headersTimeoutMs;
      server.keepAliveTimeout = next.limits.keepAliveTimeoutMs;
    }
    publicServer.maxHeadersCount = sibling.maxHeadersCount = next.limits.maxHeaderCount + 1;
    proxyDeps.maxHeaderCount = next.limits.maxHeaderCount;
    config.limits.bodyIdleTimeoutMs = next.limits.bodyIdleTimeoutMs; // read per request
    clientLimits.setLimits(next.limits);
    setLogLevel(logger, next.log.level);
    applyTracing(next.tracing);
    const restartNeeded = restartOnlyChanges(current, next);
    current = next;
    logger.info(
      {
        tlsCertificates: next.tls.length,
        tlsProfile: next.tlsProfile,
        logLevel: next.log.level,
        tracing: next.tracing.enabled,
      },
      'configuration reloaded',
    );
    if (restartNeeded.length > 0)
      logger.warn({ fields: restartNeeded }, 'configuration changes that apply only after a restart');
    return { restartNeeded };
  }

  let shutdown: Promise<void> | null = null;
  return {
    reload,
    publicPort: listenedPort,
    httpPort: httpServer ? (httpServer.address() as net.AddressInfo).port : null,
    directPort,
    nodeId: nodes.id,
    adminPort,
    adminToken,
    store,
    registry,
    close(deadlineMs = 10_000) {
      shutdown ??= (async () => {
        // Drain: stop accepting, answer what is in flight (keep-alive connections close after their response),
        // then close the tunnels. WebSockets still open at the deadline get a 1001 close frame.
        closing = true;
        const started = Date.now();
        const remaining = (): number => Math.max(0, deadlineMs - (Date.now() - started));
        unsubscribe();
        clearInterval(renewalCheck);
        await acmeManager?.stop();
        // Other live nodes can take this one's clients and connectors: then the load balancer is given time to see the
        // failing health check, and connectors time to move, before connections are refused. A lone node stops at once.
        const others = (await nodeRegistry.list().catch(() => [])).filter((n) => n.id !== nodeRegistry.id).length;
        await nodeRegistry.close(); // leaves the node list before it stops taking requests
        // Each connector dials another node first, then drains its tunnel here (the tunnels keep serving meanwhile).
        const moved = announcer.drain(remaining());
        if (others > 0) {
          const graceMs = Math.min(config.cluster?.drainGraceMs ?? 2_000, remaining());
          logger.info(
            { graceMs, otherNodes: others },
            'edge draining: health check failing, still accepting while the load balancer notices',
          );
          await new Promise((r) => setTimeout(r, graceMs));
        }
        port.close();
        direct?.close();
        httpServer?.close();
        httpServer?.closeAllConnections();
        publicServer.close();
        publicServer.closeIdleConnections();
        h2.server.close();
        h2.closeIdleSessions();
        sibling.closeIdleConnections();
        await admin.close();
        logger.info(
          { requests: active, upgraded: upgraded.size, deadlineMs },
          'edge draining: finishing in-flight requests',
        );
        if (active > 0 || upgraded.size > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, remaining());
            onIdle = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        // Tunnels close only once their connectors have moved (bounded by the deadline), so no stream is cut.
        const { moved: movedTunnels, left } = await moved;
        if (movedTunnels + left > 0) logger.info({ moved: movedTunnels, left }, 'connectors moved to other edge nodes');
        publicServer.closeAllConnections();
        sibling.closeAllConnections();
        relay.close();
        relayPeers.close();
        nodeCredentials.stop();
        h2.closeAllSessions();
        const tunnels = registry.all();
        for (const t of tunnels) t.drain();
        await Promise.all(
          tunnels.map(
            (t) =>
              new Promise<void>((resolve) => {
                if (t.session.closed || t.session.destroyed) return resolve();
                const timer = setTimeout(() => {
                  t.session.destroy();
                  resolve();
                }, 1_000);
                t.session.once('close', () => {
                  clearTimeout(timer);
                  resolve();
                });
                t.session.close();
              }),
          ),
        );
        if (upgraded.size > 0) await new Promise((r) => setTimeout(r, 300)); // let the close frames out
        for (const socket of upgraded) socket.destroy();
        logger.info({ ms: Date.now() - started, requestsLeft: active }, 'edge drained');
        await ext.close?.();
        await exporter?.close();
        await store.close();
      })();
      return shutdown;
    },
  };
}

/** The health check path on the sign-in and tunnel hosts (docs/architecture.md, "Behind a load balancer"). */
export const HEALTH_PATH = '/healthz';

/** The admin token: from config, from its file, or created once in the state dir (0600). */
export async function resolveAdminToken(config: EdgeConfig): Promise<string> {
  if (config.admin.token) return config.admin.token;
  const file = config.admin.tokenFile ?? path.join(config.stateDir, 'admin-token');
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token.length >= 24) return token;
  } catch {
    /* created below */
  }
  const token = `dba_${randomBytes(24).toString('base64url')}`;
  await writeSecretFile(file, token + '\n');
  return token;
}
