import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../../errors/drawbridge-error.ts';
import type { Connector, ConnectorPatch as StoreConnectorPatch } from '../../../store/types.ts';
import type { AdminContext } from '../context.ts';
import {
  ConnectorPatch,
  type ConnectorPatchBody,
  TenantObjectParams,
  TenantParams,
  type TenantParamsT,
  errorResponses,
  listOf,
} from '../schemas.ts';
import type { ConnectorLiveStatus } from '../types.ts';

const ConnectorParams = TenantObjectParams('connectorId', 'Connector id (con_…).');

/** A stored connector plus what the tunnel registry sees right now. */
function withLive(connector: Connector, live: ConnectorLiveStatus | undefined) {
  const tunnels = live?.tunnels ?? 0;
  return {
    ...connector,
    live: {
      status: !connector.enabled ? 'disabled' : tunnels > 0 ? 'connected' : 'disconnected',
      tunnels,
      workers: live?.workers ?? 0,
      connectedSince: live?.connectedSince ?? null,
      address: live?.address ?? null,
      version: live?.version ?? null,
      inFlight: live?.inFlight ?? 0,
    },
  };
}

export function connectorRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, deps } = ctx;
  const tags = ['connectors'];

  function liveOf(tenantId: string): Map<string, ConnectorLiveStatus> {
    return new Map(deps.connectorStatus(tenantId).map((s) => [s.connectorId, s]));
  }

  async function find(params: Static<typeof ConnectorParams>): Promise<Connector> {
    const tenant = await ctx.tenant(params.tenantId);
    const found = await store.connectors.get(tenant.id, params.connectorId);
    if (!found) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `connector ${params.connectorId} not found`);
    return found;
  }

  app.get<{ Params: TenantParamsT; Querystring: { groupId?: string } }>(
    '/tenants/:tenantId/connectors',
    {
      schema: {
        tags,
        summary: 'List connectors with their live tunnel status',
        params: TenantParams,
        querystring: Type.Object(
          { groupId: Type.Optional(Type.String({ description: 'Only this group (id or name).' })) },
          { additionalProperties: false },
        ),
        response: { 200: listOf('Connector'), ...errorResponses(400, 404) },
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const groupId =
        req.query.groupId === undefined
          ? undefined
          : (await ctx.groupField(tenant.id, req.query.groupId, 'groupId')).id;
      const live = liveOf(tenant.id);
      return { items: (await store.connectors.list(tenant.id, groupId)).map((c) => withLive(c, live.get(c.id))) };
    },
  );

  app.get<{ Params: Static<typeof ConnectorParams> }>(
    '/tenants/:tenantId/connectors/:connectorId',
    {
      schema: {
        tags,
        summary: 'Get a connector with its live tunnel status',
        params: ConnectorParams,
        response: { 200: Type.Ref('Connector'), ...errorResponses(404) },
      },
    },
    async (req) => {
      const found = await find(req.params);
      return withLive(found, liveOf(found.tenantId).get(found.id));
    },
  );

  app.patch<{ Params: Static<typeof ConnectorParams>; Body: ConnectorPatchBody }>(
    '/tenants/:tenantId/connectors/:connectorId',
    {
      schema: {
        tags,
        summary: 'Rename, enable or disable (drops its tunnels at once), or move a connector to another group',
        params: ConnectorParams,
        body: ConnectorPatch,
        response: { 200: Type.Ref('Connector'), ...errorResponses(400, 404) },
      },
    },
    async (req) => {
      const current = await find(req.params);
      const patch: StoreConnectorPatch = {};
      if (req.body.name !== undefined) patch.name = req.body.name;
      if (req.body.enabled !== undefined) patch.enabled = req.body.enabled;
      if (req.body.groupId !== undefined) patch.groupId = (await ctx.groupField(current.tenantId, req.body.groupId)).id;
      const updated = await store.connectors.update(current.tenantId, current.id, patch);
      if (patch.enabled === false) deps.disconnectConnector(current.id);
      const action =
        patch.enabled === false && current.enabled
          ? 'connector.disabled'
          : patch.enabled === true && !current.enabled
            ? 'connector.enabled'
            : 'connector.updated';
      await ctx.audit(current.tenantId, action, current.id, { ...patch });
      return withLive(updated, liveOf(updated.tenantId).get(updated.id));
    },
  );

  app.post<{ Params: Static<typeof ConnectorParams> }>(
    '/tenants/:tenantId/connectors/:connectorId/renew-certificate',
    {
      schema: {
        tags,
        summary: "Renew the connector's certificate now, over its tunnel (also done by itself before expiry)",
        description:
          'The connector makes a new key and sends a CSR; the edge issues the certificate, the connector installs it and redials its tunnels one by one. The old certificate stays accepted until the connector uses the new one.',
        params: ConnectorParams,
        response: {
          200: Type.Object({ serial: Type.String(), notAfter: Type.String({ format: 'date-time' }) }),
          ...errorResponses(404, 409, 502),
        },
      },
    },
    async (req) => {
      const current = await find(req.params);
      if (!deps.renewConnectorCertificate)
        throw new DrawbridgeError('DB-CONNECTOR-NOT-CONNECTED', 'certificate renewal is not available on this edge');
      return deps.renewConnectorCertificate(current.id, ctx.actor());
    },
  );

  app.post<{ Params: Static<typeof ConnectorParams> }>(
    '/tenants/:tenantId/connectors/:connectorId/restart',
    {
      schema: {
        tags,
        summary:
          'Restart the connector: it drains, exits and is started again by its service manager (a rolling upgrade step)',
        description:
          'Only a connector run under a service manager (systemd, `connector run --supervised`) accepts; others answer `restarting: false` and keep running. `drawbridge admin connectors upgrade` restarts a group one connector at a time, each back healthy before the next.',
        params: ConnectorParams,
        response: {
          200: Type.Object({ restarting: Type.Boolean() }),
          ...errorResponses(404, 409, 502),
        },
      },
    },
    async (req) => {
      const current = await find(req.params);
      if (!deps.restartConnector)
        throw new DrawbridgeError('DB-CONNECTOR-NOT-CONNECTED', 'restarts are not available on this edge');
      const restarting = await deps.restartConnector(current.id);
      if (restarting) await ctx.audit(current.tenantId, 'connector.restarted', current.id, { name: current.name });
      return { restarting };
    },
  );

  app.delete<{ Params: Static<typeof ConnectorParams> }>(
    '/tenants/:tenantId/connectors/:connectorId',
    {
      schema: {
        tags,
        summary: 'Delete a connector (its certificate is refused from now on and its tunnels drop)',
        params: ConnectorParams,
        response: { 204: Type.Null(), ...errorResponses(404) },
      },
    },
    async (req, reply) => {
      const current = await find(req.params);
      await store.connectors.delete(current.tenantId, current.id);
      deps.disconnectConnector(current.id);
      await ctx.audit(current.tenantId, 'connector.deleted', current.id, {
        name: current.name,
        groupId: current.groupId,
      });
      return reply.code(204).send();
    },
  );
}
