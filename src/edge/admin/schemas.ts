/**
 * The admin API's schemas: one TypeBox source for request validation, response serialisation and the OpenAPI
 * document. Field rules the schema cannot express (URL shapes) are checked by `store/validate.ts`.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { REPLAY_LIMIT } from '../proxy/replayable-body.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Type.String({ format: 'date-time' });
const Slug = (description: string) =>
  Type.String({ pattern: '^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$', minLength: 1, maxLength: 40, description });
const Name = (description: string) => Type.String({ minLength: 1, maxLength: 100, description });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({ description: 'Stable DB-<AREA>-<WHAT> code from the catalogue (docs/errors.md).' }),
      title: Type.String(),
      message: Type.String({ description: 'What to do.' }),
      detail: Type.Optional(Type.String({ description: 'The precise reason (field, limit).' })),
      correlationId: Type.String({ description: 'Also in the x-correlation-id header and the edge log.' }),
    }),
  },
  { $id: 'Error' },
);

/** 401 (no or a bad token) and 403 (the role may not: authorization.ts) can answer any route. */
export const errorResponses = (...statuses: (400 | 401 | 404 | 409 | 502)[]) =>
  Object.fromEntries([401, 403, ...statuses].map((status) => [status, Type.Ref('Error')]));

// --- parameters ---
export const TenantParams = Type.Object({ tenantId: Type.String({ description: 'Tenant id (tnt_…) or name.' }) });
export const TenantObjectParams = (name: string, description: string) =>
  Type.Object({ tenantId: TenantParams.properties.tenantId, [name]: Type.String({ description }) });

// --- tenants ---
export const Tenant = Type.Object(
  { id: Type.String(), name: Type.String(), displayName: Type.String(), createdAt: Time },
  { $id: 'Tenant' },
);
export const NewTenant = Type.Object(
  {
    name: Slug('Lower-case slug, unique across the edge; part of default app URLs.'),
    displayName: Type.Optional(Name('Shown in the console and portal.')),
  },
  { additionalProperties: false },
);

// --- connector groups ---
export const Group = Type.Object(
  { id: Type.String(), tenantId: Type.String(), name: Type.String(), createdAt: Time },
  { $id: 'ConnectorGroup' },
);
export const NewGroup = Type.Object({ name: Name('Unique within the tenant.') }, { additionalProperties: false });

// --- enrollment tokens ---
export const TOKEN_TTL = { default: 3600, min: 60, max: 7 * 24 * 3600 } as const;
export const EnrollmentToken = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    groupId: Type.String(),
    expiresAt: Time,
    usedAt: Nullable(Time),
    connectorId: Nullable(Type.String()),
    createdAt: Time,
  },
  { $id: 'EnrollmentToken' },
);
export const NewEnrollmentToken = Type.Object(
  {
    groupId: Type.String({ description: 'Connector group id (grp_…) or name.' }),
    ttlSeconds: Type.Optional(
      Type.Integer({ minimum: TOKEN_TTL.min, maximum: TOKEN_TTL.max, default: TOKEN_TTL.default }),
    ),
  },
  { additionalProperties: false },
);
export const CreatedEnrollmentToken = Type.Object({
  token: Type.String({ description: 'dbe_<id>.<secret>: shown once, give it to drawbridge connector register.' }),
  id: Type.String(),
  tenantId: Type.String(),
  groupId: Type.String(),
  expiresAt: Time,
  usedAt: Nullable(Time),
  connectorId: Nullable(Type.String()),
  createdAt: Time,
});

// --- apps ---
export const PreAuth = Type.Union([Type.Literal('passthrough'), Type.Literal('idp')], {
  description: 'idp: users sign in first; passthrough: the edge forwards without sign-in.',
});
export const BackendTimeout = Type.Union(
  [Type.Integer({ minimum: 1, maximum: 3600 }), Type.Literal('default'), Type.Literal('long')],
  { description: "Seconds to wait for the backend's response headers: 1–3600, or default (85) or long (180)." },
);
const HeaderName = (what: string) =>
  Type.String({
    minLength: 1,
    maxLength: 64,
    pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
    description: `Header that carries ${what}.`,
  });
export const Sso = Type.Union(
  [
    Type.Object({ mode: Type.Literal('none') }, { additionalProperties: false }),
    Type.Object(
      {
        mode: Type.Literal('kerberos'),
        spn: Type.String({
          minLength: 3,
          maxLength: 255,
          description: "The backend's service principal name, HTTP/<host the app is reached by> (no port, no realm).",
        }),
        loginIdentity: Type.Optional(
          Type.Union(
            [Type.Literal('upn'), Type.Literal('onPremName'), Type.Literal('upnUserPart'), Type.Literal('email')],
            {
              description:
                "Which of the user's attributes names their AD account: upn (default), onPremName (sAMAccountName), upnUserPart (the part before @), email.",
            },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    Type.Object(
      {
        mode: Type.Literal('headers'),
        headers: Type.Object(
          {
            user: Type.Optional(HeaderName("the user's UPN")),
            email: Type.Optional(HeaderName("the user's email")),
            groups: Type.Optional(HeaderName("the user's groups, comma-separated")),
            jwt: Type.Optional(HeaderName('the signed assertion (default x-drawbridge-assertion)')),
          },
          { additionalProperties: false },
        ),
        jwt: Type.Optional(
          Type.Boolean({
            description:
              'Also send an ES256 JWT signed by the edge (aud = the external URL; keys at https://<tunnel host>/.well-known/jwks.json).',
          }),
        ),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      'Single sign-on to the backend (docs/sso.md). Client-sent copies of the identity headers are always removed.',
  },
);

export const Hsts = Nullable(
  Type.Object(
    {
      maxAge: Type.Integer({
        minimum: 0,
        maximum: 63072000,
        description: 'Seconds browsers keep to HTTPS for this host (default 31536000, a year); 0 makes them forget it.',
      }),
      includeSubDomains: Type.Optional(
        Type.Boolean({ description: "Also every subdomain of the app's host (default false)." }),
      ),
    },
    {
      additionalProperties: false,
      description: "Strict-Transport-Security on every answer of the app's host; null (default) sends none.",
    },
  ),
);
export const LinkTranslation = Type.Object(
  {
    headers: Type.Optional(
      Type.Boolean({
        description: 'Location, Content-Location, Refresh, Link and Set-Cookie Domain/Path (default true).',
      }),
    ),
    body: Type.Optional(
      Type.Boolean({
        description:
          'HTML, CSS, JavaScript and JSON bodies, streamed, gzip/deflate/br decoded and re-encoded (default false).',
      }),
    ),
  },
  { additionalProperties: false, description: "Internal URLs of any of the tenant's apps become their external URLs." },
);
export const SessionCookie = Type.Object(
  {
    persistent: Type.Optional(
      Type.Union([Type.Literal('user'), Type.Literal('always'), Type.Literal('never')], {
        description:
          'user: persistent when the user chose to stay signed in (default); always; never (a browser-session cookie).',
      }),
    ),
    lifetimeSeconds: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 60,
          maximum: 34560000,
          description:
            "Caps the app session and a persistent cookie's Max-Age (never beyond the sign-in session); null: no cap.",
        }),
      ),
    ),
    sameSite: Type.Optional(
      Type.Union([Type.Literal('Lax'), Type.Literal('Strict'), Type.Literal('None')], {
        description: 'SameSite of the app session cookie (default Lax).',
      }),
    ),
  },
  { additionalProperties: false, description: 'The app session cookie the edge sets on the app host.' },
);

export const App = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    name: Type.String(),
    externalUrl: Type.String(),
    externalHost: Type.String(),
    internalUrl: Type.String(),
    groupId: Type.String(),
    preAuth: PreAuth,
    backendTimeout: Type.Integer(),
    tlsVerify: Type.Boolean(),
    backendCa: Nullable(Type.String()),
    retryWrites: Type.Boolean(),
    sso: Sso,
    hsts: Hsts,
    linkTranslation: LinkTranslation,
    sessionCookie: SessionCookie,
    enabled: Type.Boolean(),
    createdAt: Time,
    updatedAt: Time,
  },
  { $id: 'App' },
);
const appFields = {
  externalUrl: Type.String({
    description: 'https://host[:port], no path; unique across the edge. Default https://<app>-<tenant>.<domain>.',
  }),
  internalUrl: Type.String({ description: 'http(s)://host[:port][/base] as the connector sees it; no credentials.' }),
  groupId: Type.String({ description: 'Connector group id (grp_…) or name, in this tenant.' }),
  preAuth: PreAuth,
  backendTimeout: BackendTimeout,
  tlsVerify: Type.Boolean({ description: 'Validate the backend certificate (default true).' }),
  backendCa: Nullable(Type.String({ maxLength: 65536, description: 'Extra PEM CA bundle for the backend.' })),
  retryWrites: Type.Boolean({
    description:
      'Treat PUT and DELETE as idempotent: sent once more to another connector when a tunnel fails before the response, as GET, HEAD and OPTIONS always are (default false). Requests the connector never processed are retried whatever the method, with their body ' +
      `while it is small enough for the edge to have kept it (${REPLAY_LIMIT / 1024} KiB).`,
  }),
  sso: Sso,
  hsts: Hsts,
  linkTranslation: LinkTranslation,
  sessionCookie: SessionCookie,
  enabled: Type.Boolean(),
};
export const NewApp = Type.Object(
  {
    name: Slug('Lower-case slug, unique in the tenant.'),
    internalUrl: appFields.internalUrl,
    groupId: appFields.groupId,
    externalUrl: Type.Optional(appFields.externalUrl),
    preAuth: Type.Optional(appFields.preAuth),
    backendTimeout: Type.Optional(appFields.backendTimeout),
    tlsVerify: Type.Optional(appFields.tlsVerify),
    backendCa: Type.Optional(appFields.backendCa),
    retryWrites: Type.Optional(appFields.retryWrites),
    sso: Type.Optional(appFields.sso),
    hsts: Type.Optional(appFields.hsts),
    linkTranslation: Type.Optional(appFields.linkTranslation),
    sessionCookie: Type.Optional(appFields.sessionCookie),
    enabled: Type.Optional(appFields.enabled),
  },
  { additionalProperties: false },
);
export const AppPatch = Type.Partial(Type.Object({ name: Slug('New name.'), ...appFields }), {
  additionalProperties: false,
  minProperties: 1,
});

// --- connectors ---
export const LiveStatus = Type.Object({
  status: Type.Union([Type.Literal('connected'), Type.Literal('disconnected'), Type.Literal('disabled')]),
  tunnels: Type.Integer(),
  workers: Type.Integer({
    description:
      'Connector processes holding its tunnels (connector run --workers N dials from each worker); 0 when down.',
  }),
  connectedSince: Nullable(Time),
  address: Nullable(Type.String()),
  version: Nullable(Type.String()),
  inFlight: Type.Integer(),
});
export const Connector = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    groupId: Type.String(),
    name: Type.String(),
    enabled: Type.Boolean(),
    certSerial: Type.String({
      description: 'Serial of its current client certificate (renewed over the tunnel before it expires).',
    }),
    certNotAfter: Time,
    previousCertSerial: Nullable(
      Type.String({ description: 'Serial it used before the last renewal, accepted until it dials with the new one.' }),
    ),
    version: Nullable(Type.String()),
    hostname: Nullable(Type.String()),
    lastSeenAt: Nullable(Time),
    lastAddress: Nullable(Type.String()),
    createdAt: Time,
    live: LiveStatus,
  },
  { $id: 'Connector' },
);
export const ConnectorPatch = Type.Object(
  {
    name: Type.Optional(Name('Display name.')),
    enabled: Type.Optional(Type.Boolean({ description: 'false drops its tunnels at once.' })),
    groupId: Type.Optional(Type.String({ description: 'Move to another group (id or name) of this tenant.' })),
  },
  { additionalProperties: false, minProperties: 1 },
);

// --- audit ---
export const AuditEvent = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    time: Time,
    actor: Type.String(),
    action: Type.String(),
    target: Nullable(Type.String()),
    detail: Type.Record(Type.String(), Type.Unknown()),
  },
  { $id: 'AuditEvent' },
);
export const AuditQuery = Type.Object(
  {
    action: Type.Optional(
      Type.String({ description: 'Exact action, or a prefix ending in . or * (app. → every app event).' }),
    ),
    target: Type.Optional(Type.String()),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ description: 'The next value of the previous page.' })),
  },
  { additionalProperties: false },
);
export const AuditPage = Type.Object({ items: Type.Array(Type.Ref('AuditEvent')), next: Nullable(Type.String()) });

// --- edge nodes ---
export const EdgeNode = Type.Object(
  {
    id: Type.String(),
    advertise: Type.String({ description: 'URL that reaches this node directly (cluster.advertise).' }),
    version: Type.String(),
    startedAt: Time,
    lastSeenAt: Time,
    self: Type.Boolean({ description: 'The node that answered this request.' }),
    inFlight: Type.Integer({
      description: 'Requests and upgraded connections in progress at its last heartbeat (about a second old).',
    }),
    tunnels: Type.Array(
      Type.Object({
        tenantId: Type.String(),
        connectorId: Type.String(),
        groupId: Type.String(),
        tunnels: Type.Integer(),
        usable: Type.Optional(
          Type.Integer({
            description:
              'Of those, healthy and taking new streams: other nodes relay requests for the group to this node when it has any.',
          }),
        ),
      }),
      { description: 'Tunnels the node holds, per connector.' },
    ),
  },
  { $id: 'EdgeNode' },
);

export const listOf = (id: string) => Type.Object({ items: Type.Array(Type.Ref(id)) });

/** Named schemas added once with addSchema; they become components/schemas in the OpenAPI document. */
export const sharedSchemas = [ErrorBody, Tenant, Group, EnrollmentToken, App, Connector, AuditEvent, EdgeNode];

export type NewTenantBody = Static<typeof NewTenant>;
export type NewGroupBody = Static<typeof NewGroup>;
export type NewEnrollmentTokenBody = Static<typeof NewEnrollmentToken>;
export type NewAppBody = Static<typeof NewApp>;
export type AppPatchBody = Static<typeof AppPatch>;
export type ConnectorPatchBody = Static<typeof ConnectorPatch>;
export type AuditQueryString = Static<typeof AuditQuery>;
export type TenantParamsT = Static<typeof TenantParams>;
