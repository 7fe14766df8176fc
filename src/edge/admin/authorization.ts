/**
 * Who may do what through the admin API: one table of roles → actions, one table of routes → actions, and
 * `authorize(principal, action, tenantId, appId?)` that every route goes through (the fastify hooks installed by
 * `installAuthorization`; the console calls `authorize` directly). No route checks roles itself.
 *
 * - A principal is the bootstrap token (global admin, actor "bootstrap"), an administrator's API token, or (for the
 *   console) a signed-in administrator. Its tenant scope is one tenant or all (null); an app admin also has app ids.
 * - Out of scope is 404 with the same text as a missing object, so another tenant's (or app's) existence is not
 *   revealed; in scope but not granted to the role is 403 DB-ADMIN-FORBIDDEN naming the role and the action.
 * - Every route must be in ROUTE_ACTIONS: a route without a rule stops the API from starting (fail closed).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { AdminRole } from '../../store/admin-tokens.ts';
import type { Store } from '../../store/types.ts';

export { ADMIN_ROLES, type AdminRole } from '../../store/admin-tokens.ts';

export interface AdminPrincipal {
  /** bootstrap: the configured token; token: an administrator's API token; session: signed in to the console. */
  kind: 'bootstrap' | 'token' | 'session';
  /** "bootstrap", the token id (atk_…) or the user id. */
  id: string;
  /** The administrator's name (the token's administrator, the user's UPN). */
  name: string;
  role: AdminRole;
  /** The one tenant (tnt_…) it acts in; null: every tenant. */
  tenantId: string | null;
  /** App admin: the apps (app_…) it administers. */
  appIds: readonly string[];
}

export const BOOTSTRAP: AdminPrincipal = Object.freeze({
  kind: 'bootstrap',
  id: 'bootstrap',
  name: 'bootstrap',
  role: 'global-admin',
  tenantId: null,
  appIds: [],
});

/** What the audit log records as the actor: "bootstrap", or "<administrator> (<token or user id>)". */
export function actorOf(p: AdminPrincipal): string {
  return p.kind === 'bootstrap' ? 'bootstrap' : `${p.name} (${p.id})`;
}

export const ADMIN_ACTIONS = [
  'meta.read', // the OpenAPI document
  'tenants.read',
  'tenants.manage', // manage: create and delete tenants
  'edges.read',
  'admin-tokens.read',
  'admin-tokens.write', // tokens scoped to one tenant
  'global-admin-tokens.manage', // tokens for every tenant
  'groups.read',
  'groups.write',
  'connectors.read',
  'connectors.write',
  'enrollment-tokens.read',
  'enrollment-tokens.write',
  'apps.read',
  'apps.write',
  'apps.publish', // publish: create and delete apps
  'assignments.read',
  'assignments.write',
  'directory.read',
  'directory.write', // users, user groups, licences, identity settings
  'policies.read',
  'policies.write', // conditional access policies and named locations
  'signin-log.read',
  'reports.read',
  'audit.read',
] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** `own-apps`: only for the principal's apps (an app admin). */
type Grant = 'all' | 'own-apps';

const READ_ONLY_BASICS: Partial<Record<AdminAction, Grant>> = { 'meta.read': 'all', 'tenants.read': 'all' };

/** The rule table: what each role may do, inside its tenant scope. */
export const ROLE_GRANTS: Record<AdminRole, Partial<Record<AdminAction, Grant>>> = {
  'global-admin': Object.fromEntries(ADMIN_ACTIONS.map((a) => [a, 'all'])),
  'tenant-admin': Object.fromEntries(
    ADMIN_ACTIONS.filter((a) => !['tenants.manage', 'edges.read', 'global-admin-tokens.manage'].includes(a)).map(
      (a) => [a, 'all'],
    ),
  ),
  'app-admin': {
    ...READ_ONLY_BASICS,
    'apps.read': 'own-apps',
    'apps.write': 'own-apps',
    'assignments.read': 'own-apps',
    'assignments.write': 'own-apps',
    'signin-log.read': 'own-apps',
  },
  'security-reader': {
    ...READ_ONLY_BASICS,
    'signin-log.read': 'all',
    'reports.read': 'all',
    'policies.read': 'all',
    'audit.read': 'all',
  },
  'connector-operator': {
    ...READ_ONLY_BASICS,
    'groups.read': 'all',
    'groups.write': 'all',
    'connectors.read': 'all',
    'connectors.write': 'all',
    'enrollment-tokens.read': 'all',
    'enrollment-tokens.write': 'all',
    'edges.read': 'all',
  },
};

/** Actions that concern the deployment rather than one tenant, which a tenant-scoped principal may still take. */
const TENANTLESS_FOR_SCOPED: ReadonlySet<AdminAction> = new Set(['meta.read', 'tenants.read']);

export type Decision =
  | {
      allowed: true /** null: every app; otherwise the only apps the answer may show. */;
      appScope: readonly string[] | null;
    }
  | { allowed: false; code: 'DB-ADMIN-FORBIDDEN' | 'DB-ADMIN-NOT-FOUND'; detail: string };

/**
 * May `principal` take `action` in `tenantId` (resolved tnt_ id; null for a deployment-wide route), on `appId`
 * (resolved app_ id) when the request concerns one app? With no appId, an app admin is allowed with an appScope the
 * caller must filter by.
 */
export function authorize(
  principal: AdminPrincipal,
  action: AdminAction,
  tenantId: string | null,
  appId?: string,
): Decision {
  if (tenantId !== null && principal.tenantId !== null && principal.tenantId !== tenantId) {
    return { allowed: false, code: 'DB-ADMIN-NOT-FOUND', detail: `tenant ${tenantId} not found` };
  }
  const grant = ROLE_GRANTS[principal.role]?.[action];
  if (!grant) return { allowed: false, code: 'DB-ADMIN-FORBIDDEN', detail: `role ${principal.role} may not ${action}` };
  if (tenantId === null && principal.tenantId !== null && !TENANTLESS_FOR_SCOPED.has(action)) {
    return {
      allowed: false,
      code: 'DB-ADMIN-FORBIDDEN',
      detail: `role ${principal.role} scoped to one tenant may not ${action} (deployment-wide)`,
    };
  }
  if (grant === 'own-apps') {
    if (appId === undefined) return { allowed: true, appScope: principal.appIds };
    if (!principal.appIds.includes(appId))
      return { allowed: false, code: 'DB-ADMIN-NOT-FOUND', detail: `app ${appId} not found` };
  }
  return { allowed: true, appScope: null };
}

/** Where a route finds the app it concerns: its :appId parameter, or ?appId= (sign-in log). */
interface RouteRule {
  action: AdminAction;
  /** Served without a token: Prometheus' scrape of /metrics (counts with app ids, no secrets; docs/operations.md). */
  public?: boolean;
  app?: 'param' | 'query';
  /** The route narrows its answer to the decision's appScope itself (a list of apps). */
  filtersApps?: boolean;
}

const T = '/tenants/:tenantId';
/** Every admin API route (method and path under /api/v1) and the action it takes. */
export const ROUTE_ACTIONS: Record<string, RouteRule> = {
  'GET /openapi.json': { action: 'meta.read' },
  'GET /metrics': { action: 'meta.read', public: true },
  'GET /edges': { action: 'edges.read' },
  'GET /tenants': { action: 'tenants.read' },
  'POST /tenants': { action: 'tenants.manage' },
  [`GET ${T}`]: { action: 'tenants.read' },
  [`DELETE ${T}`]: { action: 'tenants.manage' },
  'GET /admin-tokens': { action: 'global-admin-tokens.manage' },
  'POST /admin-tokens': { action: 'global-admin-tokens.manage' },
  'DELETE /admin-tokens/:tokenId': { action: 'global-admin-tokens.manage' },
  [`GET ${T}/admin-tokens`]: { action: 'admin-tokens.read' },
  [`POST ${T}/admin-tokens`]: { action: 'admin-tokens.write' },
  [`DELETE ${T}/admin-tokens/:tokenId`]: { action: 'admin-tokens.write' },
  [`GET ${T}/connector-groups`]: { action: 'groups.read' },
  [`POST ${T}/connector-groups`]: { action: 'groups.write' },
  [`GET ${T}/connector-groups/:groupId`]: { action: 'groups.read' },
  [`DELETE ${T}/connector-groups/:groupId`]: { action: 'groups.write' },
  [`GET ${T}/connector-groups/:groupId/health`]: { action: 'groups.read' },
  [`GET ${T}/group-health`]: { action: 'groups.read' },
  [`GET ${T}/enrollment-tokens`]: { action: 'enrollment-tokens.read' },
  [`POST ${T}/enrollment-tokens`]: { action: 'enrollment-tokens.write' },
  [`GET ${T}/connectors`]: { action: 'connectors.read' },
  [`GET ${T}/connectors/:connectorId`]: { action: 'connectors.read' },
  [`PATCH ${T}/connectors/:connectorId`]: { action: 'connectors.write' },
  [`POST ${T}/connectors/:connectorId/renew-certificate`]: { action: 'connectors.write' },
  [`POST ${T}/connectors/:connectorId/restart`]: { action: 'connectors.write' },
  // Service tokens (TCP apps' automation) are directory principals.
  [`GET ${T}/service-tokens`]: { action: 'directory.read' },
  [`POST ${T}/service-tokens`]: { action: 'directory.write' },
  [`POST ${T}/service-tokens/:tokenId/rotate`]: { action: 'directory.write' },
  [`DELETE ${T}/connectors/:connectorId`]: { action: 'connectors.write' },
  [`GET ${T}/apps`]: { action: 'apps.read', filtersApps: true },
  [`POST ${T}/apps`]: { action: 'apps.publish' },
  [`GET ${T}/apps/:appId`]: { action: 'apps.read', app: 'param' },
  [`PATCH ${T}/apps/:appId`]: { action: 'apps.write', app: 'param' },
  [`DELETE ${T}/apps/:appId`]: { action: 'apps.publish', app: 'param' },
  // A probe of the backend on request: an app admin's (their apps), not a reader's.
  [`POST ${T}/apps/:appId/test-connection`]: { action: 'apps.write', app: 'param' },
  [`GET ${T}/apps/:appId/certificate`]: { action: 'apps.read', app: 'param' },
  [`PUT ${T}/apps/:appId/certificate`]: { action: 'apps.write', app: 'param' },
  [`DELETE ${T}/apps/:appId/certificate`]: { action: 'apps.write', app: 'param' },
  [`GET ${T}/apps/:appId/assignments`]: { action: 'assignments.read', app: 'param' },
  [`POST ${T}/apps/:appId/assignments`]: { action: 'assignments.write', app: 'param' },
  [`DELETE ${T}/apps/:appId/assignments/:type/:id`]: { action: 'assignments.write', app: 'param' },
  [`GET ${T}/users`]: { action: 'directory.read' },
  [`POST ${T}/users`]: { action: 'directory.write' },
  [`GET ${T}/users/:userId`]: { action: 'directory.read' },
  [`PATCH ${T}/users/:userId`]: { action: 'directory.write' },
  [`DELETE ${T}/users/:userId`]: { action: 'directory.write' },
  [`POST ${T}/users/:userId/password`]: { action: 'directory.write' },
  [`POST ${T}/users/:userId/unlock`]: { action: 'directory.write' },
  [`DELETE ${T}/users/:userId/mfa`]: { action: 'directory.write' },
  [`POST ${T}/users/:userId/revoke-sessions`]: { action: 'directory.write' },
  [`GET ${T}/user-groups`]: { action: 'directory.read' },
  [`POST ${T}/user-groups`]: { action: 'directory.write' },
  [`DELETE ${T}/user-groups/:groupId`]: { action: 'directory.write' },
  [`GET ${T}/user-groups/:groupId/members`]: { action: 'directory.read' },
  [`PUT ${T}/user-groups/:groupId/members/:userId`]: { action: 'directory.write' },
  [`DELETE ${T}/user-groups/:groupId/members/:userId`]: { action: 'directory.write' },
  [`GET ${T}/licences`]: { action: 'directory.read' },
  [`PUT ${T}/licences/:sku`]: { action: 'directory.write' },
  [`POST ${T}/licences/:sku/assignments`]: { action: 'directory.write' },
  [`DELETE ${T}/licences/:sku/assignments/:type/:id`]: { action: 'directory.write' },
  [`GET ${T}/identity-settings`]: { action: 'directory.read' },
  [`PUT ${T}/identity-settings`]: { action: 'directory.write' },
  [`GET ${T}/identity-providers`]: { action: 'directory.read' },
  [`PUT ${T}/identity-providers/:providerId`]: { action: 'directory.write' },
  [`DELETE ${T}/identity-providers/:providerId`]: { action: 'directory.write' },
  [`GET ${T}/locations`]: { action: 'policies.read' },
  [`POST ${T}/locations`]: { action: 'policies.write' },
  [`GET ${T}/locations/:id`]: { action: 'policies.read' },
  [`PATCH ${T}/locations/:id`]: { action: 'policies.write' },
  [`DELETE ${T}/locations/:id`]: { action: 'policies.write' },
  [`GET ${T}/policies`]: { action: 'policies.read' },
  [`POST ${T}/policies`]: { action: 'policies.write' },
  [`GET ${T}/policies/:id`]: { action: 'policies.read' },
  [`PATCH ${T}/policies/:id`]: { action: 'policies.write' },
  [`DELETE ${T}/policies/:id`]: { action: 'policies.write' },
  [`POST ${T}/policies/what-if`]: { action: 'policies.read' },
  [`GET ${T}/signin-log`]: { action: 'signin-log.read', app: 'query' },
  [`GET ${T}/signin-log/export`]: { action: 'signin-log.read', app: 'query' },
  [`GET ${T}/reports`]: { action: 'reports.read' },
  [`GET ${T}/reports/:report`]: { action: 'reports.read' },
  [`GET ${T}/audit-log`]: { action: 'audit.read' },
};

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Resolves `Authorization: Bearer …` to a principal: the bootstrap token, or a live administrator's API token. */
export function adminAuthenticator(
  store: Store,
  bootstrapToken: string,
): (authorization: string | undefined, now?: Date) => Promise<AdminPrincipal> {
  if (!bootstrapToken) throw new DrawbridgeError('DB-CONFIG-INVALID', 'admin.token: the admin API needs a token');
  const expected = digest(bootstrapToken);
  return async (authorization, now = new Date()) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match)
      throw new DrawbridgeError(
        'DB-ADMIN-UNAUTHORIZED',
        authorization ? 'the bearer token is wrong' : 'no Authorization: Bearer header',
      );
    // Both sides hashed first: the comparison takes the same time whatever the presented text.
    if (timingSafeEqual(digest(match[1]), expected)) return BOOTSTRAP;
    const row = await store.adminTokens.verify(match[1]);
    if (!row) throw new DrawbridgeError('DB-ADMIN-UNAUTHORIZED', 'the bearer token is wrong');
    if (row.revokedAt)
      throw new DrawbridgeError('DB-ADMIN-TOKEN-EXPIRED', `token ${row.id} was revoked at ${row.revokedAt}`);
    if (Date.parse(row.expiresAt) <= now.getTime())
      throw new DrawbridgeError('DB-ADMIN-TOKEN-EXPIRED', `token ${row.id} expired at ${row.expiresAt}`);
    return {
      kind: 'token',
      id: row.id,
      name: row.administrator,
      role: row.role,
      tenantId: row.tenantId,
      appIds: row.appIds,
    };
  };
}

/** The principal of the request being served, for the audit log's actor (set by the onRequest hook). */
const current = new AsyncLocalStorage<{ principal: AdminPrincipal | null }>();

/** The actor of the admin request in progress; "admin" outside one (routes mounted without authorization, tests). */
export function currentActor(): string {
  const principal = current.getStore()?.principal;
  return principal ? actorOf(principal) : 'admin';
}

declare module 'fastify' {
  interface FastifyRequest {
    adminPrincipal: AdminPrincipal | null;
    /** null: every app; otherwise the only apps this request's answer may show (an app admin's list). */
    adminAppScope: readonly string[] | null;
  }
  interface FastifyContextConfig {
    adminRule?: RouteRule;
  }
}

/** The principal of a request that passed authentication (routes only run after it). */
export function principalOf(req: FastifyRequest): AdminPrincipal {
  if (!req.adminPrincipal) throw new DrawbridgeError('DB-ADMIN-UNAUTHORIZED');
  return req.adminPrincipal;
}

export interface AuthorizationDeps {
  store: Store;
  bootstrapToken: string;
  prefix: string;
}

/**
 * Installs, on the root instance before any route: onRoute (attach each route's rule; refuse a route without one),
 * onRequest (authenticate, remember the principal for the audit log), preValidation (authorize — before body
 * validation, so a refused write is 403 whatever its body).
 */
export function installAuthorization(app: FastifyInstance, deps: AuthorizationDeps): void {
  const authenticate = adminAuthenticator(deps.store, deps.bootstrapToken);
  app.decorateRequest('adminPrincipal', null);
  app.decorateRequest('adminAppScope', null);

  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const path = route.url.startsWith(deps.prefix) ? route.url.slice(deps.prefix.length) : route.url;
    for (const method of methods) {
      const rule = ROUTE_ACTIONS[`${method === 'HEAD' ? 'GET' : method} ${path}`];
      if (!rule)
        throw new Error(`admin API route ${method} ${route.url} has no rule in ROUTE_ACTIONS (authorization.ts)`);
      route.config = { ...(route.config as object), adminRule: rule };
    }
  });

  app.addHook('onRequest', (req, _reply, done) => {
    if (req.routeOptions.config?.adminRule?.public) return done();
    const holder: { principal: AdminPrincipal | null } = { principal: null };
    current.run(holder, () => {
      authenticate(req.headers.authorization).then((principal) => {
        holder.principal = principal;
        req.adminPrincipal = principal;
        done();
      }, done);
    });
  });

  app.addHook('preValidation', async (req) => {
    const rule = req.routeOptions.config.adminRule;
    if (!rule || rule.public) return; // the not-found handler, or a route served without a token
    const principal = principalOf(req);
    const params = (req.params ?? {}) as Record<string, string | undefined>;
    let tenantId: string | null = null;
    if (params.tenantId !== undefined) {
      const ref = params.tenantId;
      const tenant = ref.startsWith('tnt_')
        ? await deps.store.tenants.get(ref)
        : await deps.store.tenants.getByName(ref);
      // A tenant out of scope reads exactly like one that does not exist.
      if (!tenant || (principal.tenantId !== null && principal.tenantId !== tenant.id))
        throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `tenant ${ref} not found`);
      tenantId = tenant.id;
    }
    const appRef =
      rule.app === 'param'
        ? params.appId
        : rule.app === 'query'
          ? (req.query as Record<string, string | undefined>).appId
          : undefined;
    let appId: string | undefined;
    if (appRef !== undefined && tenantId !== null) {
      const found = appRef.startsWith('app_')
        ? await deps.store.apps.get(tenantId, appRef)
        : (await deps.store.apps.list(tenantId)).find((a) => a.name === appRef);
      appId = found?.id ?? appRef; // unknown: the route answers 404 (or, out of an app admin's scope, authorize does)
    }
    const decision = authorize(principal, rule.action, tenantId, appId);
    if (!decision.allowed) {
      // Not found as the caller named it, exactly as the route would say for a missing app.
      throw new DrawbridgeError(
        decision.code,
        decision.code === 'DB-ADMIN-NOT-FOUND' ? `app ${appRef ?? ''} not found` : decision.detail,
      );
    }
    if (decision.appScope !== null && !rule.filtersApps) {
      throw new DrawbridgeError(
        'DB-ADMIN-FORBIDDEN',
        `role ${principal.role} may ${rule.action} only for its apps: name one${rule.app === 'query' ? ' with appId' : ''}`,
      );
    }
    req.adminAppScope = decision.appScope;
  });
}
