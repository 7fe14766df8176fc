/**
 * Admin API for the directory (`/api/v1/tenants/:tenantId/…`): users (create, update, disable, password reset,
 * unlock, MFA reset, session revocation), user groups and members, licences and their assignments, app
 * assignments, and identity settings (MFA policy, session lifetimes, OIDC federation). Register with
 * `directoryRoutes(api, ctx, identity)` inside the `/api/v1` prefix.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { generatePassword } from '../../identity/password.ts';
import { LICENCE_SKUS, type DirectoryStore, type LicenceSku, type Principal } from '../../store/directory-types.ts';
import type { AdminContext } from './context.ts';

export interface IdentityAdminDeps {
  directory: DirectoryStore;
  /** Ends every session of the user (Signin.revokeUser). */
  revokeUser(tenantId: string, userId: string): Promise<number>;
}

const NewUser = Type.Object(
  {
    upn: Type.String({ minLength: 1, maxLength: 254 }),
    displayName: Type.Optional(Type.String({ maxLength: 256 })),
    email: Type.Optional(Type.Union([Type.String({ maxLength: 254 }), Type.Null()])),
    onPremName: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
    enabled: Type.Optional(Type.Boolean()),
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 1024 })),
  },
  { additionalProperties: false },
);
const UserPatch = Type.Object(
  {
    displayName: Type.Optional(Type.String({ maxLength: 256 })),
    email: Type.Optional(Type.Union([Type.String({ maxLength: 254 }), Type.Null()])),
    onPremName: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
    enabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const PrincipalBody = Type.Object(
  { type: Type.Union([Type.Literal('user'), Type.Literal('group')]), id: Type.String({ minLength: 1 }) },
  { additionalProperties: false },
);
const OidcFields = {
  issuer: Type.String(),
  clientId: Type.String(),
  clientSecret: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  displayName: Type.Optional(Type.String()),
  scopes: Type.Optional(Type.Array(Type.String())),
  usernameClaim: Type.Optional(Type.String()),
  groupsClaim: Type.Optional(Type.String()),
  autoCreateUsers: Type.Optional(Type.Boolean()),
  allowInsecureLoopback: Type.Optional(Type.Boolean()),
};

/** One of the tenant's OpenID Connect providers; its id is in the path. */
const Provider = Type.Object(
  {
    ...OidcFields,
    domains: Type.Optional(Type.Array(Type.String(), { maxItems: 100 })),
    buttonLabel: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false },
);

const Settings = Type.Object(
  {
    requireMfa: Type.Optional(Type.Boolean()),
    sessionIdleSeconds: Type.Optional(Type.Integer({ minimum: 60 })),
    sessionAbsoluteSeconds: Type.Optional(Type.Integer({ minimum: 60 })),
    allowPersistentSessions: Type.Optional(Type.Boolean()),
    oidc: Type.Optional(Type.Union([Type.Null(), Type.Object(OidcFields, { additionalProperties: false })])),
  },
  { additionalProperties: false },
);

type TenantParams = { tenantId: string };
type UserParams = TenantParams & { userId: string };

export function directoryRoutes(app: FastifyInstance, ctx: AdminContext, identity: IdentityAdminDeps): void {
  const { directory } = identity;
  const tags = ['directory'];

  async function user(p: UserParams) {
    const tenant = await ctx.tenant(p.tenantId);
    const found = p.userId.startsWith('usr_')
      ? await directory.users.get(tenant.id, p.userId)
      : await directory.users.findByLogin(tenant.id, p.userId);
    if (!found) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `user ${p.userId} not found`);
    return found;
  }
  async function group(tenantId: string, ref: string) {
    const found = ref.startsWith('ugr_')
      ? await directory.groups.get(tenantId, ref)
      : await directory.groups.getByName(tenantId, ref);
    if (!found) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `user group ${ref} not found`);
    return found;
  }
  function sku(value: string): LicenceSku {
    if (!(LICENCE_SKUS as readonly string[]).includes(value))
      throw new DrawbridgeError('DB-ADMIN-INVALID', `sku must be one of ${LICENCE_SKUS.join(', ')}`);
    return value as LicenceSku;
  }
  async function appOf(tenantId: string, ref: string) {
    const found = ref.startsWith('app_')
      ? await ctx.store.apps.get(tenantId, ref)
      : ((await ctx.store.apps.list(tenantId)).find((a) => a.name === ref) ?? null);
    if (!found) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `app ${ref} not found`);
    return found;
  }

  // --- users ---
  app.get<{ Params: TenantParams; Querystring: { search?: string; limit?: number; cursor?: string } }>(
    '/tenants/:tenantId/users',
    { schema: { tags, summary: 'List users' } },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      return directory.users.list(tenant.id, {
        search: req.query.search,
        limit: req.query.limit ? Number(req.query.limit) : undefined,
        cursor: req.query.cursor,
      });
    },
  );
  app.post<{ Params: TenantParams; Body: Static<typeof NewUser> }>(
    '/tenants/:tenantId/users',
    { schema: { tags, summary: 'Create a user', body: NewUser } },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const created = await directory.users.create(tenant.id, req.body);
      await ctx.audit(tenant.id, 'user.created', created.id, { upn: created.upn });
      return reply.code(201).send(created);
    },
  );
  app.get<{ Params: UserParams }>(
    '/tenants/:tenantId/users/:userId',
    { schema: { tags, summary: 'Get a user (id or UPN) with groups, licences and MFA methods' } },
    async (req) => {
      const found = await user(req.params);
      const facts = await directory.access.facts(found.tenantId, found.id);
      return {
        ...found,
        groups: facts?.groups ?? [],
        licences: facts?.skus ?? [],
        mfa: await directory.mfa.methods(found.tenantId, found.id),
        apps: await directory.assignments.appsForUser(found.tenantId, found.id),
      };
    },
  );
  app.patch<{ Params: UserParams; Body: Static<typeof UserPatch> }>(
    '/tenants/:tenantId/users/:userId',
    { schema: { tags, summary: 'Update a user (disabling also ends their sessions)', body: UserPatch } },
    async (req) => {
      const found = await user(req.params);
      const updated = await directory.users.update(found.tenantId, found.id, req.body);
      if (req.body.enabled === false) await identity.revokeUser(found.tenantId, found.id);
      await ctx.audit(found.tenantId, 'user.updated', found.id, { fields: Object.keys(req.body) });
      return updated;
    },
  );
  app.delete<{ Params: UserParams }>(
    '/tenants/:tenantId/users/:userId',
    { schema: { tags, summary: 'Delete a user' } },
    async (req, reply) => {
      const found = await user(req.params);
      await identity.revokeUser(found.tenantId, found.id);
      await directory.users.delete(found.tenantId, found.id);
      await ctx.audit(found.tenantId, 'user.deleted', found.id, { upn: found.upn });
      return reply.code(204).send();
    },
  );
  app.post<{ Params: UserParams; Body: { password?: string } | undefined }>(
    '/tenants/:tenantId/users/:userId/password',
    {
      schema: {
        tags,
        summary:
          'Reset the password (body {password} optional: a generated one is returned when none is given); unlocks and ends sessions',
      },
    },
    async (req) => {
      const given = req.body?.password;
      if (given !== undefined && (typeof given !== 'string' || given.length < 8 || given.length > 1024))
        throw new DrawbridgeError('DB-ADMIN-INVALID', 'password must be 8 to 1024 characters');
      const found = await user(req.params);
      const password = given ?? generatePassword();
      await directory.users.setPassword(found.tenantId, found.id, password);
      await identity.revokeUser(found.tenantId, found.id);
      await ctx.audit(found.tenantId, 'user.password-reset', found.id, {});
      return req.body?.password ? { reset: true } : { reset: true, password };
    },
  );
  app.post<{ Params: UserParams }>(
    '/tenants/:tenantId/users/:userId/unlock',
    { schema: { tags, summary: 'Clear the failed sign-in count and lock' } },
    async (req) => {
      const found = await user(req.params);
      await directory.users.setLockout(found.tenantId, found.id, { failedCount: 0, lockedUntil: null });
      await ctx.audit(found.tenantId, 'user.unlocked', found.id, {});
      return { unlocked: true };
    },
  );
  app.delete<{ Params: UserParams }>(
    '/tenants/:tenantId/users/:userId/mfa',
    { schema: { tags, summary: 'Remove TOTP, recovery codes and passkeys (user re-enrols)' } },
    async (req, reply) => {
      const found = await user(req.params);
      await directory.mfa.reset(found.tenantId, found.id);
      await identity.revokeUser(found.tenantId, found.id);
      await ctx.audit(found.tenantId, 'user.mfa-reset', found.id, {});
      return reply.code(204).send();
    },
  );
  app.post<{ Params: UserParams }>(
    '/tenants/:tenantId/users/:userId/revoke-sessions',
    { schema: { tags, summary: 'End every session of the user now' } },
    async (req) => {
      const found = await user(req.params);
      const ended = await identity.revokeUser(found.tenantId, found.id);
      await ctx.audit(found.tenantId, 'user.sessions-revoked', found.id, { ended });
      return { ended };
    },
  );

  // --- user groups ---
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/user-groups',
    { schema: { tags, summary: 'List user groups' } },
    async (req) => ({ items: await directory.groups.list((await ctx.tenant(req.params.tenantId)).id) }),
  );
  app.post<{ Params: TenantParams; Body: { name: string; description?: string } }>(
    '/tenants/:tenantId/user-groups',
    {
      schema: {
        tags,
        summary: 'Create a user group',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 256 }),
            description: Type.Optional(Type.String({ maxLength: 1024 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const created = await directory.groups.create(tenant.id, req.body);
      await ctx.audit(tenant.id, 'user-group.created', created.id, { name: created.name });
      return reply.code(201).send(created);
    },
  );
  app.delete<{ Params: TenantParams & { groupId: string } }>(
    '/tenants/:tenantId/user-groups/:groupId',
    { schema: { tags, summary: 'Delete a user group' } },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const found = await group(tenant.id, req.params.groupId);
      await directory.groups.delete(tenant.id, found.id);
      await ctx.audit(tenant.id, 'user-group.deleted', found.id, { name: found.name });
      return reply.code(204).send();
    },
  );
  app.get<{ Params: TenantParams & { groupId: string } }>(
    '/tenants/:tenantId/user-groups/:groupId/members',
    { schema: { tags, summary: 'List members' } },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      return { items: await directory.groups.members(tenant.id, (await group(tenant.id, req.params.groupId)).id) };
    },
  );
  app.put<{ Params: TenantParams & { groupId: string; userId: string } }>(
    '/tenants/:tenantId/user-groups/:groupId/members/:userId',
    { schema: { tags, summary: 'Add a member' } },
    async (req, reply) => {
      const found = await user(req.params);
      const g = await group(found.tenantId, req.params.groupId);
      await directory.groups.addMember(found.tenantId, g.id, found.id);
      await ctx.audit(found.tenantId, 'user-group.member-added', g.id, { userId: found.id });
      return reply.code(204).send();
    },
  );
  app.delete<{ Params: TenantParams & { groupId: string; userId: string } }>(
    '/tenants/:tenantId/user-groups/:groupId/members/:userId',
    { schema: { tags, summary: 'Remove a member' } },
    async (req, reply) => {
      const found = await user(req.params);
      const g = await group(found.tenantId, req.params.groupId);
      await directory.groups.removeMember(found.tenantId, g.id, found.id);
      await ctx.audit(found.tenantId, 'user-group.member-removed', g.id, { userId: found.id });
      return reply.code(204).send();
    },
  );

  // --- licences ---
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/licences',
    { schema: { tags, summary: 'Licences with seats and use' } },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      return {
        items: await directory.licences.list(tenant.id),
        assignments: await directory.licences.assignments(tenant.id),
      };
    },
  );
  app.put<{ Params: TenantParams & { sku: string }; Body: { seats: number } }>(
    '/tenants/:tenantId/licences/:sku',
    {
      schema: {
        tags,
        summary: 'Set the seats of a SKU (free, basic, premium)',
        body: Type.Object({ seats: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }),
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const licence = await directory.licences.setSeats(tenant.id, sku(req.params.sku), req.body.seats);
      await ctx.audit(tenant.id, 'licence.seats-set', licence.sku, { seats: licence.seats });
      return licence;
    },
  );
  app.post<{ Params: TenantParams & { sku: string }; Body: Principal }>(
    '/tenants/:tenantId/licences/:sku/assignments',
    { schema: { tags, summary: 'Assign a licence to a user or group', body: PrincipalBody } },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const created = await directory.licences.assign(tenant.id, sku(req.params.sku), req.body);
      await ctx.audit(tenant.id, 'licence.assigned', req.params.sku, { principal: req.body });
      return reply.code(201).send(created);
    },
  );
  app.delete<{ Params: TenantParams & { sku: string; type: 'user' | 'group'; id: string } }>(
    '/tenants/:tenantId/licences/:sku/assignments/:type/:id',
    { schema: { tags, summary: 'Remove a licence assignment' } },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      await directory.licences.unassign(tenant.id, sku(req.params.sku), { type: req.params.type, id: req.params.id });
      await ctx.audit(tenant.id, 'licence.unassigned', req.params.sku, {
        principal: { type: req.params.type, id: req.params.id },
      });
      return reply.code(204).send();
    },
  );

  // --- app assignments ---
  app.get<{ Params: TenantParams & { appId: string } }>(
    '/tenants/:tenantId/apps/:appId/assignments',
    { schema: { tags, summary: 'Users and groups assigned to an app' } },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      return { items: await directory.assignments.list(tenant.id, (await appOf(tenant.id, req.params.appId)).id) };
    },
  );
  app.post<{ Params: TenantParams & { appId: string }; Body: Principal }>(
    '/tenants/:tenantId/apps/:appId/assignments',
    { schema: { tags, summary: 'Assign an app to a user or group', body: PrincipalBody } },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const target = await appOf(tenant.id, req.params.appId);
      const created = await directory.assignments.assign(tenant.id, target.id, req.body);
      await ctx.audit(tenant.id, 'app.assigned', target.id, { principal: req.body });
      return reply.code(201).send(created);
    },
  );
  app.delete<{ Params: TenantParams & { appId: string; type: 'user' | 'group'; id: string } }>(
    '/tenants/:tenantId/apps/:appId/assignments/:type/:id',
    { schema: { tags, summary: 'Remove an app assignment' } },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const target = await appOf(tenant.id, req.params.appId);
      await directory.assignments.unassign(tenant.id, target.id, { type: req.params.type, id: req.params.id });
      await ctx.audit(tenant.id, 'app.unassigned', target.id, {
        principal: { type: req.params.type, id: req.params.id },
      });
      return reply.code(204).send();
    },
  );

  // --- identity settings ---
  const redact = <S extends { oidc: { clientSecret: string | null } | null }>(s: S): S =>
    s.oidc ? { ...s, oidc: { ...s.oidc, clientSecret: s.oidc.clientSecret ? '********' : null } } : s;
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/identity-settings',
    { schema: { tags, summary: 'MFA policy, session lifetimes, OIDC federation (secret redacted)' } },
    async (req) => redact(await directory.settings.get((await ctx.tenant(req.params.tenantId)).id)),
  );
  app.put<{ Params: TenantParams; Body: Static<typeof Settings> }>(
    '/tenants/:tenantId/identity-settings',
    { schema: { tags, summary: 'Update identity settings', body: Settings } },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const body = { ...req.body } as Parameters<DirectoryStore['settings']['update']>[1];
      if (body.oidc && req.body.oidc?.clientSecret === '********')
        body.oidc = {
          ...body.oidc,
          clientSecret: (await directory.settings.get(tenant.id)).oidc?.clientSecret ?? null,
        };
      const updated = await directory.settings.update(tenant.id, body);
      await ctx.audit(tenant.id, 'identity-settings.updated', tenant.id, { fields: Object.keys(req.body) });
      return redact(updated);
    },
  );

  // --- identity providers (several OpenID Connect providers; `default` is the settings' single `oidc`) ---
  const SECRET_MASK = '********';
  const redactProvider = <P extends { clientSecret: string | null }>(p: P): P => ({
    ...p,
    clientSecret: p.clientSecret ? SECRET_MASK : null,
  });
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/identity-providers',
    {
      schema: {
        tags,
        summary: "The tenant's OpenID Connect providers with the e-mail domains each owns (secrets redacted)",
      },
    },
    async (req) => ({
      items: (await directory.settings.providers((await ctx.tenant(req.params.tenantId)).id)).map(redactProvider),
    }),
  );
  app.put<{ Params: TenantParams & { providerId: string }; Body: Static<typeof Provider> }>(
    '/tenants/:tenantId/identity-providers/:providerId',
    {
      schema: {
        tags,
        summary: 'Create or replace an OpenID Connect provider (a secret of ******** keeps the stored one)',
        body: Provider,
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const input = { ...req.body, id: req.params.providerId, clientSecret: req.body.clientSecret ?? null };
      if (input.clientSecret === SECRET_MASK)
        input.clientSecret =
          (await directory.settings.providers(tenant.id)).find((p) => p.id === input.id)?.clientSecret ?? null;
      const saved = await directory.settings.putProvider(tenant.id, input);
      await ctx.audit(tenant.id, 'identity-provider.updated', saved.id, {
        issuer: saved.issuer,
        domains: saved.domains,
      });
      return redactProvider(saved);
    },
  );
  app.delete<{ Params: TenantParams & { providerId: string } }>(
    '/tenants/:tenantId/identity-providers/:providerId',
    { schema: { tags, summary: 'Remove an OpenID Connect provider' } },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      if (!(await directory.settings.deleteProvider(tenant.id, req.params.providerId)))
        throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `identity provider ${req.params.providerId} not found`);
      await ctx.audit(tenant.id, 'identity-provider.deleted', req.params.providerId, {});
      return reply.code(204).send();
    },
  );
}
