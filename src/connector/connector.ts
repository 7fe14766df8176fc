import type { Logger } from '../lib/log.ts';
import { loadConnectorState } from './enroll/state.ts';
import { BackendPools } from './forward/backend-pool.ts';
import { createForwarder, type SsoProvider } from './forward/forwarder.ts';
import { Supervisor } from './supervisor/supervisor.ts';
import { ConnectorMetrics } from './metrics.ts';
import { SavedAppConfigTable } from './sso/last-config.ts';
import { createSsoProvider, loadKerberosSso } from './sso/index.ts';
import { CertificateRenewal, type Renewal } from './enroll/renewal.ts';
import { SpanSink } from '../lib/trace-context.ts';
import { createOtlpExporter } from '../lib/otlp-export.ts';

export const CONNECTOR_VERSION = '0.1.0';

export interface RunningConnector {
  connectorId: string;
  supervisor: Supervisor;
  metrics: ConnectorMetrics;
  /** Port of the Prometheus endpoint, when `metricsPort` was given. */
  metricsPort: number | null;
  /** SIGTERM path: a `draining` event down every tunnel, finish in-flight streams up to the deadline, close backends. */
  drain(deadlineMs: number): Promise<void>;
}

/** Loads the enrolled identity from the state dir and keeps `tunnels` tunnels to the edge. */
export async function startConnector(options: {
  stateDir: string;
  tunnels: number;
  logger: Logger;
  sso?: SsoProvider;
  kerberosConfig?: string;
  metricsPort?: number;
  pinned?: boolean;
  otlpEndpoint?: string;
  onRestartRequested?(reason: string): void;
  /**
   * One of `connector run --workers N` (1-based): its metrics carry a `worker` label, its hello names it, and the
   * primary owns the state dir's files (a renewal interrupted before is finished there, once, not here).
   */
  worker?: number;
  /** Certificate renewal through the primary of `--workers` (default: in this process). */
  renewal?: Renewal;
}): Promise<RunningConnector> {
  const state = await loadConnectorState(options.stateDir, new Date(), {
    completeRenewal: options.worker === undefined,
  });
  const logger = options.logger.child({
    connectorId: state.connectorId,
    ...(options.worker !== undefined ? { worker: options.worker } : {}),
  });
  const apps = new SavedAppConfigTable(options.stateDir, logger);
  const kerberos = options.kerberosConfig ? await loadKerberosSso(options.kerberosConfig, logger) : null;
  const sso = options.sso ?? createSsoProvider({ kerberos, logger });
  const pools = new BackendPools();
  const metrics = new ConnectorMetrics();
  if (options.worker !== undefined) metrics.registry.setDefaultLabels({ worker: String(options.worker) });
  // Spans of the requests the edge traces (x-drawbridge-trace): logged, and exported when an OTLP endpoint is given.
  const exporter = options.otlpEndpoint
    ? createOtlpExporter({ endpoint: options.otlpEndpoint, serviceName: 'drawbridge-connector', logger })
    : null;
  const spans = new SpanSink(logger.child({ component: 'trace' }), exporter && ((span) => exporter.add(span)));
  const forward = createForwarder({
    apps,
    pools,
    logger,
    sso,
    spans,
    count: (app, outcome) => metrics.count(app, outcome),
  });
  const supervisor = new Supervisor({
    credentials: {
      connectorId: state.connectorId,
      edgeUrl: state.edgeUrl,
      tunnelHost: state.tunnelHost,
      connectAddress: state.connectAddress,
      keyPem: state.keyPem,
      certPem: state.certPem,
      caPem: state.tunnelCaPem,
    },
    tunnels: options.tunnels,
    pinned: options.pinned,
    version: CONNECTOR_VERSION,
    renewal: options.renewal ?? new CertificateRenewal(state),
    worker: options.worker,
    apps,
    forward,
    logger,
    onRestartRequested: options.onRestartRequested,
  });
  metrics.countTunnelsWith(() => supervisor.connected);
  supervisor.start();
  const metricsServer = options.metricsPort === undefined ? null : await metrics.serve(options.metricsPort);
  logger.info({ edge: state.edgeUrl, tunnels: options.tunnels, group: state.groupId }, 'connector started');
  return {
    connectorId: state.connectorId,
    supervisor,
    metrics,
    metricsPort: metricsServer?.port ?? null,
    async drain(deadlineMs) {
      await supervisor.drain(deadlineMs);
      metricsServer?.close();
      await exporter?.close();
      // Backend connections close gracefully, but a request the edge abandoned must not hold the exit.
      await Promise.race([pools.close(), new Promise((r) => setTimeout(r, 1_000).unref())]);
    },
  };
}
