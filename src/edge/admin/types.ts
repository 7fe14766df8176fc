import type { Logger } from 'pino';
import type { Store } from '../../store/types.ts';
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './context.ts';

import type { ConnectionTestResult } from '../../tunnel/protocol.ts';
import type { ConnectorLiveStatus } from '../tunnel/registry.ts';

export type { ConnectorLiveStatus, TunnelLiveStatus } from '../tunnel/registry.ts';

/** Everything the admin API needs from the rest of the edge; the API imports none of it directly. */
export interface AdminDeps {
  store: Store;
  /** The bearer token every request must carry. */
  token: string;
  logger: Logger;
  /** `https://<app>-<tenant>.<domain>[:port]`, used when an app is created without an externalUrl. */
  defaultExternalUrl(tenantName: string, appName: string): string;
  /** Live tunnels of the tenant's connectors (connectors without tunnels may be absent). */
  connectorStatus(tenantId: string): ConnectorLiveStatus[];
  /** Drops the connector's tunnels at once (called when it is disabled or deleted). */
  disconnectConnector(connectorId: string): void;
  /** Renews the connector's certificate now, over one of its tunnels (edge/enroll/renewal.ts). */
  renewConnectorCertificate?(connectorId: string, actor: string): Promise<{ serial: string; notAfter: string }>;
  /** Asks the connector to drain and exit for its service manager to restart it (a rolling upgrade); its answer. */
  restartConnector?(connectorId: string): Promise<boolean>;
  /**
   * "Test connection": one connector of the group (with a tunnel to this node) probes the app's internal URL now.
   * Refuses with DB-CONNECTOR-NOT-CONNECTED when none is connected or none understands the request.
   */
  testConnection?(groupId: string, appId: string): Promise<ConnectionTestResult & { connectorName?: string }>;
  /** Called after an app is created, updated or deleted (the store's onChange fires as well). */
  onAppsChanged?(): void;
  /** Routes of other layers (directory, sign-in log…) registered under /api/v1 with the same auth and errors. */
  extraRoutes?: AdminRoutePlugin[];
  /** The edge's Prometheus metrics, served at `GET /metrics` without the bearer token (edge/metrics.ts). */
  metrics?: { metrics(): Promise<string>; contentType: string };
}

/** A layer's admin routes: called inside the /api/v1 scope with the shared admin context. */
export type AdminRoutePlugin = (api: FastifyInstance, ctx: AdminContext) => void;
