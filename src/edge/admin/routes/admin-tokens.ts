/**
 * Administrators' API tokens: `/tenants/:tenantId/admin-tokens` for tokens scoped to one tenant (a tenant admin
 * manages its own), `/admin-tokens` for tokens that act in every tenant (global admins only). The token text is
 * returned once; the store keeps a hash. Who may call which route is authorization.ts's table, as everywhere.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../../errors/drawbridge-error.ts';
import { ADMIN_ROLES, type AdminRole, type AdminToken } from '../../../store/admin-tokens.ts';
import type { AdminContext } from '../context.ts';
import { TenantParams, type TenantParamsT, errorResponses } from '../schemas.ts';

/** Lifetime bounds: a token is for a person or a pipeline for a while, not for ever. */
export const ADMIN_TOKEN_TTL = { default: 30 * 86_400, min: 60, max: 366 * 86_400 } as const;

const Role = Type.Union(ADMIN_ROLES.map((r) => Type.Literal(r)));
const AdminTokenView = Type.Object({
  id: Type.String(),
  administrator: Type.String(),
  role: Role,
  tenantId: Type.Union([Type.String(), Type.Null()], { description: 'null: every tenant' }),
  appIds: Type.Array(Type.String()),
  expiresAt: Type.String(),
  createdAt: Type.String(),
  createdBy: Type.String(),
  revokedAt: Type.Union([Type.String(), Type.Null()]),
});
const Created = Type.Object({
  token: Type.String({ description: 'dba_<id>.<secret>: shown once; send as Authorization: Bearer.' }),
  ...AdminTokenView.properties,
});
const NewToken = Type.Object(
  {
    administrator: Type.String({
      minLength: 1,
      maxLength: 256,
      description: 'Whose token it is (UPN, e-mail, pipeline name): shown as the actor in the audit log.',
    }),
    role: Role,
    apps: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        maxItems: 100,
        description: 'app-admin: the apps (ids or names) it administers.',
      }),
    ),
    expiresInSeconds: Type.Optional(
      Type.Integer({ minimum: ADMIN_TOKEN_TTL.min, maximum: ADMIN_TOKEN_TTL.max, default: ADMIN_TOKEN_TTL.default }),
    ),
  },
  { additionalProperties: false },
);
type NewTokenBody = Static<typeof NewToken>;
const TokenParams = Type.Object({ tenantId: Type.String(), tokenId: Type.String() });
const GlobalTokenParams = Type.Object({ tokenId: Type.String() });
const list = Type.Object({ items: Type.Array(AdminTokenView) });

export function adminTokenRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store } = ctx;
  const tags = ['admin tokens'];

  async function appIds(tenantId: string, refs: string[] | undefined): Promise<string[]> {
    if (!refs?.length) return [];
    const apps = await store.apps.list(tenantId);
    return refs.map((ref) => {
      const found = apps.find((a) => a.id === ref || a.name === ref);
      if (!found) throw new DrawbridgeError('DB-ADMIN-INVALID', `apps: no app ${ref} in this tenant`);
      return found.id;
    });
  }
  const expiry = (body: NewTokenBody): string =>
    new Date(Date.now() + (body.expiresInSeconds ?? ADMIN_TOKEN_TTL.default) * 1000).toISOString();
  /** Every tenant the token can act in hears of it: its own, or all for a token scoped to every tenant. */
  async function audit(row: AdminToken, action: string, detail: Record<string, unknown>): Promise<void> {
    const tenants = row.tenantId ? [row.tenantId] : (await store.tenants.list()).map((t) => t.id);
    for (const tenantId of tenants)
      await ctx.audit(tenantId, action, row.id, {
        administrator: row.administrator,
        role: row.role,
        scope: row.tenantId ?? 'all tenants',
        ...detail,
      });
  }

  app.post<{ Params: TenantParamsT; Body: NewTokenBody }>(
    '/tenants/:tenantId/admin-tokens',
    {
      schema: {
        tags,
        summary: 'Create an admin API token scoped to this tenant (the token text is returned only here)',
        params: TenantParams,
        body: NewToken,
        response: { 201: Created, ...errorResponses(400, 404) },
      },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const { token, row } = await store.adminTokens.create({
        administrator: req.body.administrator,
        role: req.body.role as AdminRole,
        tenantId: tenant.id,
        appIds: await appIds(tenant.id, req.body.apps),
        expiresAt: expiry(req.body),
        createdBy: ctx.actor(),
      });
      await audit(row, 'admin-token.created', { appIds: row.appIds, expiresAt: row.expiresAt });
      return reply.code(201).send({ token, ...row });
    },
  );

  app.get<{ Params: TenantParamsT }>(
    '/tenants/:tenantId/admin-tokens',
    {
      schema: {
        tags,
        summary: "The tenant's admin API tokens (never their secret)",
        params: TenantParams,
        response: { 200: list, ...errorResponses(404) },
      },
    },
    async (req) => ({ items: await store.adminTokens.list((await ctx.tenant(req.params.tenantId)).id) }),
  );

  app.delete<{ Params: Static<typeof TokenParams> }>(
    '/tenants/:tenantId/admin-tokens/:tokenId',
    {
      schema: {
        tags,
        summary: 'Revoke a token: refused from the next request on',
        params: TokenParams,
        response: { 200: AdminTokenView, ...errorResponses(404) },
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const found = await store.adminTokens.get(req.params.tokenId);
      if (!found || found.tenantId !== tenant.id)
        throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `admin token ${req.params.tokenId} not found`);
      const revoked = await store.adminTokens.revoke(found.id, new Date());
      await audit(revoked, 'admin-token.revoked', {});
      return revoked;
    },
  );

  app.post<{ Body: NewTokenBody }>(
    '/admin-tokens',
    {
      schema: {
        tags,
        summary: 'Create an admin API token that acts in every tenant (global admins only)',
        body: NewToken,
        response: { 201: Created, ...errorResponses(400) },
      },
    },
    async (req, reply) => {
      if (req.body.apps?.length)
        throw new DrawbridgeError(
          'DB-ADMIN-INVALID',
          'apps: an app admin is scoped to one tenant: create it under /tenants/:tenantId/admin-tokens',
        );
      const { token, row } = await store.adminTokens.create({
        administrator: req.body.administrator,
        role: req.body.role as AdminRole,
        tenantId: null,
        expiresAt: expiry(req.body),
        createdBy: ctx.actor(),
      });
      await audit(row, 'admin-token.created', { expiresAt: row.expiresAt });
      return reply.code(201).send({ token, ...row });
    },
  );

  app.get(
    '/admin-tokens',
    {
      schema: {
        tags,
        summary: 'Every admin API token of the deployment (never their secret)',
        response: { 200: list, ...errorResponses() },
      },
    },
    async () => ({ items: await store.adminTokens.list() }),
  );

  app.delete<{ Params: Static<typeof GlobalTokenParams> }>(
    '/admin-tokens/:tokenId',
    {
      schema: {
        tags,
        summary: 'Revoke any admin API token',
        params: GlobalTokenParams,
        response: { 200: AdminTokenView, ...errorResponses(404) },
      },
    },
    async (req) => {
      const revoked = await store.adminTokens.revoke(req.params.tokenId, new Date());
      await audit(revoked, 'admin-token.revoked', {});
      return revoked;
    },
  );
}
