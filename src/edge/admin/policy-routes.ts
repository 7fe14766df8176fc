/**
 * Admin API for conditional access (`/api/v1/tenants/:tenantId/…`): named locations, policies, and what-if (the
 * decision for a user, app, address and platform without signing in). Bodies may name users by UPN, groups,
 * apps and locations by name: they are resolved to ids here, and an unknown one is DB-ADMIN-INVALID naming the
 * field. Registered by the sign-in extension, beside the directory routes, because it needs the directory.
 */
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { DirectoryStore } from '../../store/directory-types.ts';
import {
  CLIENT_TYPES,
  PLATFORMS,
  RISK_LEVELS,
  type ClientType,
  type LocationInput,
  type Platform,
  type PolicyInput,
  type RiskLevel,
} from '../../store/policy-types.ts';
import { decideAccess } from '../access/decide.ts';
import { openCountryLookup, type CountryLookup } from '../access/countries.ts';
import { compilePolicySet, evaluatePolicies } from '../access/policies.ts';
import { policyLog } from '../signin/conditional-access.ts';
import type { AdminContext } from './context.ts';

type TenantParams = { tenantId: string };
type ObjectParams = TenantParams & { id: string };

export interface WhatIfBody {
  user: string;
  app?: string | null;
  ip?: string | null;
  platform?: Platform;
  clientType?: ClientType;
  /** Overrides the country the database gives for `ip`. */
  country?: string | null;
  risk?: RiskLevel;
  /** What the session proved (default: a password alone). */
  authMethods?: string[];
  /** ISO time to evaluate at (default now). */
  time?: string;
}

export function policyRoutes(app: FastifyInstance, ctx: AdminContext, directory: DirectoryStore): void {
  const { store } = ctx;
  const tags = ['conditional access'];
  let countries: Promise<CountryLookup> | null = null;

  const invalid = (message: string) => new DrawbridgeError('DB-ADMIN-INVALID', message);

  async function resolveUser(tenantId: string, ref: string, field: string): Promise<string> {
    const found = ref.startsWith('usr_')
      ? await directory.users.get(tenantId, ref)
      : await directory.users.findByLogin(tenantId, ref);
    if (!found) throw invalid(`${field}: no user ${ref} in this tenant`);
    return found.id;
  }
  async function resolveGroup(tenantId: string, ref: string, field: string): Promise<string> {
    const found = ref.startsWith('ugr_')
      ? await directory.groups.get(tenantId, ref)
      : await directory.groups.getByName(tenantId, ref);
    if (!found) throw invalid(`${field}: no user group ${ref} in this tenant`);
    return found.id;
  }
  async function resolveApp(tenantId: string, ref: string, field: string): Promise<string> {
    const found = ref.startsWith('app_')
      ? await store.apps.get(tenantId, ref)
      : ((await store.apps.list(tenantId)).find((a) => a.name === ref) ?? null);
    if (!found) throw invalid(`${field}: no app ${ref} in this tenant`);
    return found.id;
  }
  async function resolveLocation(tenantId: string, ref: string, field: string): Promise<string> {
    const found = ref.startsWith('loc_')
      ? await store.locations.get(tenantId, ref)
      : ((await store.locations.list(tenantId)).find((l) => l.name === ref) ?? null);
    if (!found) throw invalid(`${field}: no named location ${ref} in this tenant`);
    return found.id;
  }
  const all = (
    tenantId: string,
    refs: unknown,
    field: string,
    resolve: (t: string, r: string, f: string) => Promise<string>,
  ) => {
    if (!Array.isArray(refs)) throw invalid(`${field}: a list`);
    return Promise.all(
      refs.map((r) =>
        typeof r === 'string' ? resolve(tenantId, r, field) : Promise.reject(invalid(`${field}: names or ids`)),
      ),
    );
  };
  async function principals(tenantId: string, v: unknown, field: string) {
    if (typeof v !== 'object' || v === null) throw invalid(`${field}: {users, groups}`);
    const p = v as { users?: unknown; groups?: unknown };
    return {
      users: await all(tenantId, p.users ?? [], `${field}.users`, resolveUser),
      groups: await all(tenantId, p.groups ?? [], `${field}.groups`, resolveGroup),
    };
  }

  /** Names → ids in a policy body; the store checks the rest. */
  async function resolvePolicy(tenantId: string, body: Partial<PolicyInput>): Promise<Partial<PolicyInput>> {
    if (typeof body !== 'object' || body === null) throw invalid('body: a policy object');
    const c = body.conditions;
    if (!c) return body;
    const out: NonNullable<PolicyInput['conditions']> = { ...c };
    if (c.users) {
      out.users = { ...c.users };
      if (c.users.include !== undefined && c.users.include !== 'all')
        out.users.include = await principals(tenantId, c.users.include, 'conditions.users.include');
      if (c.users.exclude !== undefined)
        out.users.exclude = await principals(tenantId, c.users.exclude, 'conditions.users.exclude');
    }
    if (c.apps !== undefined && c.apps !== 'all') out.apps = await all(tenantId, c.apps, 'conditions.apps', resolveApp);
    if (c.locations) {
      out.locations = { ...c.locations };
      if (c.locations.include !== undefined && c.locations.include !== 'any')
        out.locations.include = await all(
          tenantId,
          c.locations.include,
          'conditions.locations.include',
          resolveLocation,
        );
      if (c.locations.exclude !== undefined)
        out.locations.exclude = await all(
          tenantId,
          c.locations.exclude,
          'conditions.locations.exclude',
          resolveLocation,
        );
    }
    return { ...body, conditions: out };
  }

  async function policyOf(p: ObjectParams) {
    const tenant = await ctx.tenant(p.tenantId);
    const found = p.id.startsWith('pol_')
      ? await store.policies.get(tenant.id, p.id)
      : ((await store.policies.list(tenant.id)).find((x) => x.name === p.id) ?? null);
    if (!found) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `policy ${p.id} not found`);
    return found;
  }
  async function locationOf(p: ObjectParams) {
    const tenant = await ctx.tenant(p.tenantId);
    const found = p.id.startsWith('loc_')
      ? await store.locations.get(tenant.id, p.id)
      : ((await store.locations.list(tenant.id)).find((x) => x.name === p.id) ?? null);
    if (!found) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `named location ${p.id} not found`);
    return found;
  }

  // --- named locations ---
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/locations',
    { schema: { tags, summary: 'List named locations' } },
    async (req) => ({
      items: await store.locations.list((await ctx.tenant(req.params.tenantId)).id),
    }),
  );
  app.post<{ Params: TenantParams; Body: LocationInput }>(
    '/tenants/:tenantId/locations',
    { schema: { tags, summary: 'Create a named location: {name, cidrs?, countries?}' } },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const created = await store.locations.create(tenant.id, req.body ?? ({} as LocationInput));
      await ctx.audit(tenant.id, 'location.created', created.id, { name: created.name });
      return reply.code(201).send(created);
    },
  );
  app.get<{ Params: ObjectParams }>(
    '/tenants/:tenantId/locations/:id',
    { schema: { tags, summary: 'Get a named location (id or name)' } },
    async (req) => locationOf(req.params),
  );
  app.patch<{ Params: ObjectParams; Body: Partial<LocationInput> }>(
    '/tenants/:tenantId/locations/:id',
    { schema: { tags, summary: 'Update a named location' } },
    async (req) => {
      const found = await locationOf(req.params);
      const updated = await store.locations.update(found.tenantId, found.id, req.body ?? {});
      await ctx.audit(found.tenantId, 'location.updated', found.id, { fields: Object.keys(req.body ?? {}) });
      return updated;
    },
  );
  app.delete<{ Params: ObjectParams }>(
    '/tenants/:tenantId/locations/:id',
    { schema: { tags, summary: 'Delete a named location (refused while a policy names it)' } },
    async (req, reply) => {
      const found = await locationOf(req.params);
      await store.locations.delete(found.tenantId, found.id);
      await ctx.audit(found.tenantId, 'location.deleted', found.id, { name: found.name });
      return reply.code(204).send();
    },
  );

  // --- policies ---
  app.get<{ Params: TenantParams }>(
    '/tenants/:tenantId/policies',
    { schema: { tags, summary: 'List conditional access policies' } },
    async (req) => ({
      items: await store.policies.list((await ctx.tenant(req.params.tenantId)).id),
    }),
  );
  app.post<{ Params: TenantParams; Body: PolicyInput }>(
    '/tenants/:tenantId/policies',
    {
      schema: {
        tags,
        summary:
          'Create a policy: {name, state?, conditions?, grant}; users by UPN, groups, apps and locations by name or id',
      },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const created = await store.policies.create(tenant.id, (await resolvePolicy(tenant.id, req.body)) as PolicyInput);
      await ctx.audit(tenant.id, 'policy.created', created.id, { name: created.name, state: created.state });
      return reply.code(201).send(created);
    },
  );
  app.get<{ Params: ObjectParams }>(
    '/tenants/:tenantId/policies/:id',
    { schema: { tags, summary: 'Get a policy (id or name)' } },
    async (req) => policyOf(req.params),
  );
  app.patch<{ Params: ObjectParams; Body: Partial<PolicyInput> }>(
    '/tenants/:tenantId/policies/:id',
    { schema: { tags, summary: 'Update a policy (conditions and grant merge field by field)' } },
    async (req) => {
      const found = await policyOf(req.params);
      const updated = await store.policies.update(
        found.tenantId,
        found.id,
        await resolvePolicy(found.tenantId, req.body ?? {}),
      );
      await ctx.audit(found.tenantId, 'policy.updated', found.id, {
        fields: Object.keys(req.body ?? {}),
        state: updated.state,
      });
      return updated;
    },
  );
  app.delete<{ Params: ObjectParams }>(
    '/tenants/:tenantId/policies/:id',
    { schema: { tags, summary: 'Delete a policy' } },
    async (req, reply) => {
      const found = await policyOf(req.params);
      await store.policies.delete(found.tenantId, found.id);
      await ctx.audit(found.tenantId, 'policy.deleted', found.id, { name: found.name });
      return reply.code(204).send();
    },
  );

  // --- what-if ---
  app.post<{ Params: TenantParams; Body: WhatIfBody }>(
    '/tenants/:tenantId/policies/what-if',
    {
      schema: {
        tags,
        summary:
          'The decision for {user, app?, ip?, platform?, clientType?, country?, risk?, authMethods?, time?} without signing in',
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const b = req.body ?? ({} as WhatIfBody);
      if (typeof b.user !== 'string' || !b.user) throw invalid('user: a UPN or user id');
      const userId = await resolveUser(tenant.id, b.user, 'user');
      const appId = b.app ? await resolveApp(tenant.id, b.app, 'app') : null;
      if (b.platform !== undefined && !PLATFORMS.includes(b.platform))
        throw invalid(`platform: one of ${PLATFORMS.join(', ')}`);
      if (b.clientType !== undefined && !CLIENT_TYPES.includes(b.clientType))
        throw invalid(`clientType: one of ${CLIENT_TYPES.join(', ')}`);
      if (b.risk !== undefined && !RISK_LEVELS.includes(b.risk))
        throw invalid(`risk: one of ${RISK_LEVELS.join(', ')}`);
      const now = b.time ? new Date(b.time) : new Date();
      if (Number.isNaN(now.getTime())) throw invalid('time: an ISO date and time');
      const facts = await directory.access.facts(tenant.id, userId);
      const access = appId
        ? decideAccess(facts, appId, facts ? await directory.assignments.appsForUser(tenant.id, userId) : [])
        : null;
      const set = compilePolicySet(await store.policies.list(tenant.id), await store.locations.list(tenant.id));
      const ip = b.ip ?? null;
      let country = b.country === undefined ? null : b.country && b.country.toUpperCase();
      if (b.country === undefined && ip && set.needsCountry)
        country = (await (countries ??= openCountryLookup())).country(ip);
      const evaluation = evaluatePolicies(set, {
        userId,
        groupIds: facts?.groups.map((g) => g.id) ?? [],
        appId,
        ip,
        country,
        platform: b.platform ?? 'unknown',
        clientType: b.clientType ?? 'browser',
        risk: b.risk ?? 'none',
        now,
        authMethods: b.authMethods ?? ['password'],
        authenticatedAt: now.getTime(),
      });
      const v = evaluation.verdict;
      const decision = access && !access.allow ? 'denied' : v.allow ? 'allow' : v.outcome;
      return {
        decision,
        code: access && !access.allow ? access.code : v.allow ? null : v.code,
        policy: v.allow ? null : { id: v.policyId, name: v.policyName },
        access: access
          ? access.allow
            ? { allow: true }
            : { allow: false, code: access.code, reason: access.reason }
          : null,
        input: {
          user: facts?.user.upn ?? b.user,
          userId,
          appId,
          ip,
          country,
          platform: b.platform ?? 'unknown',
          clientType: b.clientType ?? 'browser',
          risk: b.risk ?? 'none',
          time: now.toISOString(),
        },
        policies: policyLog(evaluation),
        persistentSession: evaluation.persistentSession,
      };
    },
  );
}
