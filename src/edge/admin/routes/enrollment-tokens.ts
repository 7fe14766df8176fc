import type { FastifyInstance } from 'fastify';
import type { AdminContext } from '../context.ts';
import {
  CreatedEnrollmentToken,
  type NewEnrollmentTokenBody,
  NewEnrollmentToken,
  TOKEN_TTL,
  TenantParams,
  type TenantParamsT,
  errorResponses,
  listOf,
} from '../schemas.ts';

export function enrollmentTokenRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx;
  const tags = ['enrollment tokens'];

  app.post<{ Params: TenantParamsT; Body: NewEnrollmentTokenBody }>(
    '/tenants/:tenantId/enrollment-tokens',
    {
      schema: {
        tags,
        summary: 'Create a one-time enrollment token for a connector group (the token text is returned only here)',
        params: TenantParams,
        body: NewEnrollmentToken,
        response: { 201: CreatedEnrollmentToken, ...errorResponses(400, 404) },
      },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const group = await ctx.groupField(tenant.id, req.body.groupId);
      const { token, row } = await store.enrollmentTokens.create(
        tenant.id,
        group.id,
        req.body.ttlSeconds ?? TOKEN_TTL.default,
      );
      await ctx.audit(tenant.id, 'enrollment-token.created', row.id, { groupId: group.id, expiresAt: row.expiresAt });
      return reply.code(201).send({ token, ...row });
    },
  );

  app.get<{ Params: TenantParamsT }>(
    '/tenants/:tenantId/enrollment-tokens',
    {
      schema: {
        tags,
        summary: 'List enrollment tokens (never their secret)',
        params: TenantParams,
        response: { 200: listOf('EnrollmentToken'), ...errorResponses(404) },
      },
    },
    async (req) => ({ items: await store.enrollmentTokens.list((await ctx.tenant(req.params.tenantId)).id) }),
  );
}
