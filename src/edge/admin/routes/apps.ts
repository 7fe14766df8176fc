import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../../errors/drawbridge-error.ts';
import type { AppPatch as StoreAppPatch } from '../../../store/types.ts';
import { BACKEND_TIMEOUT, checkInternalUrl, checkSso, parseExternalUrl } from '../../../store/validate.ts';
import { checkHsts, checkLinkTranslation, checkSessionCookie } from '../../../store/app-web.ts';
import type { AdminContext } from '../context.ts';
import {
  AppPatch,
  type AppPatchBody,
  NewApp,
  type NewAppBody,
  TenantObjectParams,
  TenantParams,
  type TenantParamsT,
  errorResponses,
  listOf,
} from '../schemas.ts';

const AppParams = TenantObjectParams('appId', 'App id (app_…) or name.');

/** `default` → 85 s, `long` → 180 s, like the Entra portal's two settings; otherwise the number of seconds. */
function seconds(value: number | 'default' | 'long'): number {
  return value === 'default' ? BACKEND_TIMEOUT.default : value === 'long' ? BACKEND_TIMEOUT.long : value;
}

/** SSO sends the signed-in user's identity: a passthrough app has none to send. */
function checkSsoPreAuth(sso: { mode: string } | undefined, preAuth: string): void {
  if (sso && sso.mode !== 'none' && preAuth === 'passthrough') {
    throw new DrawbridgeError(
      'DB-ADMIN-INVALID',
      `sso: mode ${sso.mode} needs preAuth: idp (a passthrough app has no signed-in user)`,
    );
  }
}

/** Sign-in returns to the app's externalUrl, which a wildcard app does not have as one host (not supported yet). */
function checkWildcardPreAuth(externalUrl: string, preAuth: string): void {
  if (new URL(externalUrl).hostname.startsWith('*.') && preAuth !== 'passthrough') {
    throw new DrawbridgeError(
      'DB-ADMIN-INVALID',
      'externalUrl: a wildcard app must be preAuth: passthrough (sign-in to wildcard apps is not supported yet)',
    );
  }
}

function checkCa(value: string | null | undefined): void {
  if (value && !value.includes('-----BEGIN CERTIFICATE-----')) {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'backendCa: expected one or more PEM certificates');
  }
}

const ConnectionTest = Type.Object({
  appId: Type.String(),
  connectorId: Type.String(),
  connectorName: Type.Optional(Type.String()),
  url: Type.String({ description: 'The internal URL probed.' }),
  status: Type.Union([Type.Integer(), Type.Null()], { description: "The backend's HTTP status; null: no answer." }),
  ms: Type.Integer({ description: "Milliseconds to the answer's headers (or the error)." }),
  error: Type.Union([Type.String(), Type.Null()]),
  checkedAt: Type.String({ format: 'date-time' }),
});

export function appRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, deps } = ctx;
  const tags = ['apps'];
  const changed = (): void => deps.onAppsChanged?.();

  async function find(params: Static<typeof AppParams>) {
    const tenant = await ctx.tenant(params.tenantId);
    const found = params.appId.startsWith('app_')
      ? await store.apps.get(tenant.id, params.appId)
      : (await store.apps.list(tenant.id)).find((a) => a.name === params.appId);
    if (!found) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `app ${params.appId} not found`);
    return found;
  }

  app.post<{ Params: TenantParamsT; Body: NewAppBody }>(
    '/tenants/:tenantId/apps',
    {
      schema: {
        tags,
        summary: 'Publish an app',
        params: TenantParams,
        body: NewApp,
        response: { 201: Type.Ref('App'), ...errorResponses(400, 404, 409) },
      },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const body = req.body;
      checkInternalUrl(body.internalUrl);
      const externalUrl = parseExternalUrl(
        body.externalUrl ?? deps.defaultExternalUrl(tenant.name, body.name),
      ).externalUrl;
      checkCa(body.backendCa);
      const { sso: ssoBody, hsts, ...fields } = body;
      const sso = ssoBody === undefined ? undefined : checkSso(ssoBody);
      checkSsoPreAuth(sso, body.preAuth ?? 'idp');
      checkWildcardPreAuth(externalUrl, body.preAuth ?? 'idp');
      const group = await ctx.groupField(tenant.id, body.groupId);
      const created = await store.apps.create(tenant.id, {
        ...fields,
        groupId: group.id,
        externalUrl,
        sso,
        hsts: checkHsts(hsts ?? null),
        backendTimeout: body.backendTimeout === undefined ? undefined : seconds(body.backendTimeout),
      });
      await ctx.audit(tenant.id, 'app.created', created.id, {
        name: created.name,
        externalUrl: created.externalUrl,
        internalUrl: created.internalUrl,
        groupId: created.groupId,
        preAuth: created.preAuth,
        sso: created.sso.mode,
      });
      changed();
      return reply.code(201).send(created);
    },
  );

  app.get<{ Params: TenantParamsT }>(
    '/tenants/:tenantId/apps',
    {
      schema: {
        tags,
        summary: 'List apps',
        params: TenantParams,
        response: { 200: listOf('App'), ...errorResponses(404) },
      },
    },
    async (req) => {
      const apps = await store.apps.list((await ctx.tenant(req.params.tenantId)).id);
      const scope = req.adminAppScope; // an app admin's apps only (authorization.ts)
      return { items: scope === null ? apps : apps.filter((a) => scope.includes(a.id)) };
    },
  );

  app.get<{ Params: Static<typeof AppParams> }>(
    '/tenants/:tenantId/apps/:appId',
    {
      schema: {
        tags,
        summary: 'Get an app',
        params: AppParams,
        response: { 200: Type.Ref('App'), ...errorResponses(404) },
      },
    },
    async (req) => find(req.params),
  );

  app.post<{ Params: Static<typeof AppParams> }>(
    '/tenants/:tenantId/apps/:appId/test-connection',
    {
      schema: {
        tags,
        summary: "Test connection: a connector of the app's group probes its internal URL now",
        description:
          "One HTTP GET of the internal URL from one connected connector of the group, with the app's TLS settings and no identity. `status` is the backend's HTTP status (any status means it answered); null with `error` (ECONNREFUSED, ETIMEDOUT, a TLS error…) when it did not. 409 DB-CONNECTOR-NOT-CONNECTED when no connector of the group is connected to this edge node.",
        params: AppParams,
        response: { 200: ConnectionTest, ...errorResponses(404, 409, 502) },
      },
    },
    async (req) => {
      const current = await find(req.params);
      if (!deps.testConnection)
        throw new DrawbridgeError('DB-CONNECTOR-NOT-CONNECTED', 'test connection is not available on this edge');
      return deps.testConnection(current.groupId, current.id);
    },
  );

  app.patch<{ Params: Static<typeof AppParams>; Body: AppPatchBody }>(
    '/tenants/:tenantId/apps/:appId',
    {
      schema: {
        tags,
        summary: 'Change an app',
        params: AppParams,
        body: AppPatch,
        response: { 200: Type.Ref('App'), ...errorResponses(400, 404, 409) },
      },
    },
    async (req) => {
      const current = await find(req.params);
      const { backendTimeout, groupId, sso, hsts, linkTranslation, sessionCookie, ...rest } = req.body;
      const patch: StoreAppPatch = { ...rest };
      if (hsts !== undefined) patch.hsts = checkHsts(hsts);
      // Partial objects change only the fields they name.
      if (linkTranslation !== undefined)
        patch.linkTranslation = checkLinkTranslation(linkTranslation, current.linkTranslation);
      if (sessionCookie !== undefined) patch.sessionCookie = checkSessionCookie(sessionCookie, current.sessionCookie);
      if (sso !== undefined) patch.sso = checkSso(sso);
      if (patch.internalUrl !== undefined) checkInternalUrl(patch.internalUrl);
      if (patch.externalUrl !== undefined) patch.externalUrl = parseExternalUrl(patch.externalUrl).externalUrl;
      checkCa(patch.backendCa);
      checkSsoPreAuth(patch.sso ?? current.sso, patch.preAuth ?? current.preAuth);
      checkWildcardPreAuth(patch.externalUrl ?? current.externalUrl, patch.preAuth ?? current.preAuth);
      if (backendTimeout !== undefined) patch.backendTimeout = seconds(backendTimeout);
      if (groupId !== undefined) patch.groupId = (await ctx.groupField(current.tenantId, groupId)).id;
      const updated = await store.apps.update(current.tenantId, current.id, patch);
      const detail = Object.fromEntries(
        Object.entries(patch).map(([k, v]) => [k, k === 'backendCa' && v ? '(PEM)' : v]),
      );
      await ctx.audit(current.tenantId, 'app.updated', current.id, detail);
      changed();
      return updated;
    },
  );

  app.delete<{ Params: Static<typeof AppParams> }>(
    '/tenants/:tenantId/apps/:appId',
    {
      schema: {
        tags,
        summary: 'Unpublish an app',
        params: AppParams,
        response: { 204: Type.Null(), ...errorResponses(404) },
      },
    },
    async (req, reply) => {
      const current = await find(req.params);
      await store.apps.delete(current.tenantId, current.id);
      await ctx.audit(current.tenantId, 'app.deleted', current.id, {
        name: current.name,
        externalUrl: current.externalUrl,
      });
      changed();
      return reply.code(204).send();
    },
  );
}
