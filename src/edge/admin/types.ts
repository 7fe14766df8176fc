import type { Logger } from 'pino';
import type { Store } from '../../store/types.ts';
import type { FastifyInstance } from 'fastify';
import type { AdminContext } from './context.ts';

/** One tunnel of a connector as the edge sees it. */
export interface TunnelLiveStatus {
  id: string;
  /** `healthy` takes new streams; `ejected` failed health checks and is probed back in; `draining` got GOAWAY. */
  state: 'healthy' | 'ejected' | 'draining' | 'closing';
  ejectReason: string | null;
  rttMs: number | null;
  inFlight: number;
  connectedSince: string;
  address: string | null;
  configVersion: number;
}

/** What the tunnel registry knows about one connector right now (zero tunnels when it is not connected). */
export interface ConnectorLiveStatus {
  connectorId: string;
  groupId?: string;
  /** Usable tunnels (healthy, taking new streams). */
  tunnels: number;
  health?: 'healthy' | 'ejected' | 'draining' | 'down';
  connectedSince: string | null;
  address: string | null;
  version: string | null;
  hostname?: string | null;
  inFlight: number;
  /** Best PING round trip over its usable tunnels. */
  rttMs?: number | null;
  tunnelDetails?: TunnelLiveStatus[];
  /** Backend reachability per app, as the connector reports it. */
  backends?: { appId: string; reachable: boolean; checkedAt: string; error: string | null }[];
  /** Streams the edge opened to this connector since the edge started. */
  streamsOpened?: number;
}

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
  /** Called after an app is created, updated or deleted (the store's onChange fires as well). */
  onAppsChanged?(): void;
  /** Routes of other layers (directory, sign-in log…) registered under /api/v1 with the same auth and errors. */
  extraRoutes?: AdminRoutePlugin[];
}

/** A layer's admin routes: called inside the /api/v1 scope with the shared admin context. */
export type AdminRoutePlugin = (api: FastifyInstance, ctx: AdminContext) => void;
