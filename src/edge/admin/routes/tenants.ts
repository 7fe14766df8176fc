import type { FastifyInstance } from 'fastify';
import { principalOf } from '../authorization.ts';
import type { AdminContext } from '../context.ts';
import { type NewTenantBody, NewTenant, TenantParams, type TenantParamsT, errorResponses, listOf } from '../schemas.ts';
import { Type } from '@sinclair/typebox';

export function tenantRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx;
  const tags = ['tenants'];

  app.post<{ Body: NewTenantBody }>(
    '/tenants',
    {
      schema: {
        tags,
        summary: 'Create a tenant',
        body: NewTenant,
        response: { 201: Type.Ref('Tenant'), ...errorResponses(400, 409) },
      },
    },
    async (req, reply) => {
      const tenant = await store.tenants.create(req.body);
      await ctx.audit(tenant.id, 'tenant.created', tenant.id, { name: tenant.name, displayName: tenant.displayName });
      return reply.code(201).send(tenant);
    },
  );

  app.get(
    '/tenants',
    {
      schema: { tags, summary: 'List tenants', response: { 200: listOf('Tenant'), ...errorResponses() } },
    },
    async (req) => {
      const scope = principalOf(req).tenantId; // a principal scoped to one tenant sees only it
      return { items: (await store.tenants.list()).filter((t) => scope === null || t.id === scope) };
    },
  );

  app.get<{ Params: TenantParamsT }>(
    '/tenants/:tenantId',
    {
      schema: {
        tags,
        summary: 'Get a tenant by id or name',
        params: TenantParams,
        response: { 200: Type.Ref('Tenant'), ...errorResponses(404) },
      },
    },
    async (req) => ctx.tenant(req.params.tenantId),
  );

  app.delete<{ Params: TenantParamsT }>(
    '/tenants/:tenantId',
    {
      schema: {
        tags,
        summary: 'Delete a tenant (refused while it has apps or connectors)',
        params: TenantParams,
        response: { 204: Type.Null(), ...errorResponses(404, 409) },
      },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      await store.tenants.delete(tenant.id);
      await ctx.audit(tenant.id, 'tenant.deleted', tenant.id, { name: tenant.name });
      return reply.code(204).send();
    },
  );
}
