import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../../errors/drawbridge-error.ts';
import type { App, Connector, ConnectorGroup } from '../../../store/types.ts';
import type { AdminContext } from '../context.ts';
import { TenantObjectParams, TenantParams, type TenantParamsT, errorResponses } from '../schemas.ts';
import type { ConnectorLiveStatus } from '../types.ts';

const GroupParams = TenantObjectParams('groupId', 'Connector group id (grp_…) or name.');

/** A group is highly available with two healthy connectors: one more failure would still leave one. */
const MIN_HEALTHY = 2;

/** Per group: its connectors with their tunnels (health, RTT, in-flight, version), its apps, and a warning flag. */
function groupHealth(
  group: ConnectorGroup,
  connectors: Connector[],
  apps: App[],
  live: Map<string, ConnectorLiveStatus>,
) {
  const rows = connectors.map((c) => {
    const l = live.get(c.id);
    const state = !c.enabled
      ? 'disabled'
      : !l || (l.tunnelDetails ?? []).length === 0
        ? 'disconnected'
        : (l.health ?? (l.tunnels > 0 ? 'healthy' : 'ejected'));
    return {
      id: c.id,
      name: c.name,
      enabled: c.enabled,
      state,
      version: l?.version ?? c.version,
      hostname: l?.hostname ?? c.hostname,
      address: l?.address ?? c.lastAddress,
      connectedSince: l?.connectedSince ?? null,
      lastSeenAt: c.lastSeenAt,
      healthyTunnels: l?.tunnels ?? 0,
      /** Connector processes holding its tunnels (connector run --workers N). */
      workers: l?.workers ?? 0,
      rttMs: l?.rttMs ?? null,
      inFlight: l?.inFlight ?? 0,
      streamsOpened: l?.streamsOpened ?? 0,
      tunnels: l?.tunnelDetails ?? [],
      backends: l?.backends ?? [],
    };
  });
  const healthy = rows.filter((r) => r.state === 'healthy').length;
  const appRows = apps
    .filter((a) => a.groupId === group.id)
    .map((a) => ({
      id: a.id,
      name: a.name,
      enabled: a.enabled,
      /** Healthy connectors that report the app's backend unreachable. */
      unreachableFrom: rows
        .filter((r) => r.state === 'healthy' && r.backends.some((b) => b.appId === a.id && !b.reachable))
        .map((r) => r.id),
    }));
  const warnings: string[] = [];
  if (healthy === 0) warnings.push("no healthy connector: the group's apps are down");
  else if (healthy < MIN_HEALTHY)
    warnings.push(`only ${healthy} healthy connector: one more failure takes the group's apps down`);
  for (const a of appRows)
    if (a.unreachableFrom.length > 0)
      warnings.push(`app ${a.name}: backend unreachable from ${a.unreachableFrom.join(', ')}`);
  return {
    id: group.id,
    name: group.name,
    healthyConnectors: healthy,
    /** Fewer than two healthy connectors: not highly available. */
    atRisk: healthy < MIN_HEALTHY,
    warnings,
    inFlight: rows.reduce((sum, r) => sum + r.inFlight, 0),
    connectors: rows,
    apps: appRows,
  };
}

const GroupHealth = Type.Object(
  {},
  {
    additionalProperties: true,
    description: 'Connectors, tunnels (health, RTT, in-flight), version, apps and atRisk for one group.',
  },
);

export function groupHealthRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, deps } = ctx;
  const tags = ['connector groups'];

  async function load(tenantId: string) {
    const [connectors, apps] = await Promise.all([store.connectors.list(tenantId), store.apps.list(tenantId)]);
    const live = new Map(deps.connectorStatus(tenantId).map((s) => [s.connectorId, s]));
    return { connectors, apps, live };
  }

  app.get<{ Params: TenantParamsT }>(
    '/tenants/:tenantId/group-health',
    {
      schema: {
        tags,
        summary:
          'Health of every connector group: connectors, tunnels, RTT, in-flight streams, versions; groups with fewer than two healthy connectors are flagged atRisk',
        params: TenantParams,
        response: { 200: Type.Object({ items: Type.Array(GroupHealth) }), ...errorResponses(404) },
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const { connectors, apps, live } = await load(tenant.id);
      const groups = await store.groups.list(tenant.id);
      return {
        items: groups.map((g) =>
          groupHealth(
            g,
            connectors.filter((c) => c.groupId === g.id),
            apps,
            live,
          ),
        ),
      };
    },
  );

  app.get<{ Params: Static<typeof GroupParams> }>(
    '/tenants/:tenantId/connector-groups/:groupId/health',
    {
      schema: {
        tags,
        summary: 'Health of one connector group',
        params: GroupParams,
        response: { 200: GroupHealth, ...errorResponses(404) },
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const group = await ctx.findGroup(tenant.id, req.params.groupId);
      if (!group) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `connector group ${req.params.groupId} not found`);
      const { connectors, apps, live } = await load(tenant.id);
      return groupHealth(
        group,
        connectors.filter((c) => c.groupId === group.id),
        apps,
        live,
      );
    },
  );
}
