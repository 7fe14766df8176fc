import type { FastifyInstance } from 'fastify';
import type { AdminContext } from '../context.ts';
import {
  AuditPage,
  AuditQuery,
  type AuditQueryString,
  TenantParams,
  type TenantParamsT,
  errorResponses,
} from '../schemas.ts';

export function auditRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get<{ Params: TenantParamsT; Querystring: AuditQueryString }>(
    '/tenants/:tenantId/audit-log',
    {
      schema: {
        tags: ['audit'],
        summary: "The tenant's audit log, newest first; follow next as cursor for older events",
        params: TenantParams,
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errorResponses(400, 404) },
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      return ctx.store.audit.list(tenant.id, req.query);
    },
  );
}
