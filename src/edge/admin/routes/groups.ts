import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../../errors/drawbridge-error.ts';
import type { AdminContext } from '../context.ts';
import {
  type NewGroupBody,
  NewGroup,
  TenantObjectParams,
  TenantParams,
  type TenantParamsT,
  errorResponses,
  listOf,
} from '../schemas.ts';

const GroupParams = TenantObjectParams('groupId', 'Connector group id (grp_…) or name.');

export function groupRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx;
  const tags = ['connector groups'];

  async function group(params: Static<typeof GroupParams>) {
    const tenant = await ctx.tenant(params.tenantId);
    const found = await ctx.findGroup(tenant.id, params.groupId);
    if (!found) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `connector group ${params.groupId} not found`);
    return found;
  }

  app.post<{ Params: TenantParamsT; Body: NewGroupBody }>(
    '/tenants/:tenantId/connector-groups',
    {
      schema: {
        tags,
        summary: 'Create a connector group',
        params: TenantParams,
        body: NewGroup,
        response: { 201: Type.Ref('ConnectorGroup'), ...errorResponses(400, 404, 409) },
      },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const created = await store.groups.create(tenant.id, req.body);
      await ctx.audit(tenant.id, 'group.created', created.id, { name: created.name });
      return reply.code(201).send(created);
    },
  );

  app.get<{ Params: TenantParamsT }>(
    '/tenants/:tenantId/connector-groups',
    {
      schema: {
        tags,
        summary: 'List connector groups',
        params: TenantParams,
        response: { 200: listOf('ConnectorGroup'), ...errorResponses(404) },
      },
    },
    async (req) => ({ items: await store.groups.list((await ctx.tenant(req.params.tenantId)).id) }),
  );

  app.get<{ Params: Static<typeof GroupParams> }>(
    '/tenants/:tenantId/connector-groups/:groupId',
    {
      schema: {
        tags,
        summary: 'Get a connector group',
        params: GroupParams,
        response: { 200: Type.Ref('ConnectorGroup'), ...errorResponses(404) },
      },
    },
    async (req) => group(req.params),
  );

  app.delete<{ Params: Static<typeof GroupParams> }>(
    '/tenants/:tenantId/connector-groups/:groupId',
    {
      schema: {
        tags,
        summary: 'Delete a connector group (refused while apps or connectors use it)',
        params: GroupParams,
        response: { 204: Type.Null(), ...errorResponses(404, 409) },
      },
    },
    async (req, reply) => {
      const found = await group(req.params);
      await store.groups.delete(found.tenantId, found.id);
      await ctx.audit(found.tenantId, 'group.deleted', found.id, { name: found.name });
      return reply.code(204).send();
    },
  );
}
