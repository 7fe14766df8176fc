/**
 * Admin API for service tokens (`/api/v1/tenants/:tenantId/service-tokens`, edge/signin/service-tokens.ts): create
 * (the token is shown once), list, rotate the secret. A token is a directory principal: assign it to apps with the
 * app assignment API (`{ type: 'user', id }`), disable or delete it with the user API.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { DirectoryStore, User } from '../../store/directory-types.ts';
import { SLUG } from '../../store/validate.ts';
import {
  createServiceToken,
  isServiceTokenUpn,
  rotateServiceToken,
  SERVICE_TOKEN_DOMAIN,
} from '../signin/service-tokens.ts';
import type { AdminContext } from './context.ts';

const NewServiceToken = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 40, description: 'lower-case letters, digits and inner hyphens' }) },
  { additionalProperties: false },
);

const view = (u: User) => ({
  id: u.id,
  name: u.upn.slice(0, -(SERVICE_TOKEN_DOMAIN.length + 1)),
  upn: u.upn,
  enabled: u.enabled,
  createdAt: u.createdAt,
  lastSignInAt: u.lastSignInAt,
});

export function serviceTokenRoutes(app: FastifyInstance, ctx: AdminContext, directory: DirectoryStore): void {
  const tags = ['service tokens'];
  async function token(tenantId: string, ref: string): Promise<User> {
    const found = ref.startsWith('usr_')
      ? await directory.users.get(tenantId, ref)
      : await directory.users.findByLogin(tenantId, `${ref}@${SERVICE_TOKEN_DOMAIN}`);
    if (!found || !isServiceTokenUpn(found.upn))
      throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `service token ${ref} not found`);
    return found;
  }

  app.post<{ Params: { tenantId: string }; Body: Static<typeof NewServiceToken> }>(
    '/tenants/:tenantId/service-tokens',
    {
      schema: {
        tags,
        summary:
          'Create a service token (the token, `<id>.<secret>`, is in this answer only); assign it to apps like a user',
        body: NewServiceToken,
      },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      if (!SLUG.test(req.body.name))
        throw new DrawbridgeError('DB-ADMIN-INVALID', 'name: use 1–40 lower-case letters, digits and inner hyphens');
      const issued = await createServiceToken(directory, tenant.id, req.body.name);
      await ctx.audit(tenant.id, 'service-token.created', issued.user.id, { name: req.body.name });
      return reply.code(201).send({ ...view(issued.user), token: issued.token });
    },
  );
  app.get<{ Params: { tenantId: string } }>(
    '/tenants/:tenantId/service-tokens',
    { schema: { tags, summary: 'List service tokens (never their secrets)' } },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const items: ReturnType<typeof view>[] = [];
      let cursor: string | undefined;
      do {
        const page = await directory.users.list(tenant.id, { search: `@${SERVICE_TOKEN_DOMAIN}`, limit: 200, cursor });
        items.push(...page.items.filter((u) => isServiceTokenUpn(u.upn)).map(view));
        cursor = page.next ?? undefined;
      } while (cursor);
      return { items };
    },
  );
  app.post<{ Params: { tenantId: string; tokenId: string } }>(
    '/tenants/:tenantId/service-tokens/:tokenId/rotate',
    {
      schema: {
        tags,
        summary: 'Replace the secret (the old one stops working at once; open channels stay until re-evaluated)',
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const found = await token(tenant.id, req.params.tokenId);
      const value = await rotateServiceToken(directory, tenant.id, found);
      await ctx.audit(tenant.id, 'service-token.rotated', found.id, {});
      return { ...view(found), token: value };
    },
  );
}
