import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Type, type Static } from '@sinclair/typebox';
import { validateConfig } from './validate.ts';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { parseRange } from '../lib/address-ranges.ts';

/** The edge's configuration: one schema is the source of the type, the validation and docs/configuration.md. */
export const EdgeConfigSchema = Type.Object({
  stateDir: Type.String({ minLength: 1, description: 'Directory for the SQLite file, the tunnel CA and secrets.' }),
  domain: Type.String({
    pattern: '^[a-z0-9-]+(\\.[a-z0-9-]+)+$',
    description:
      'Edge domain: apps default to https://<app>-<tenant>.<domain>. Use two labels or more (a wildcard right under "localhost" matches nothing).',
  }),
  listen: Type.Object(
    {
      host: Type.String({ default: '0.0.0.0' }),
      port: Type.Integer({
        minimum: 0,
        maximum: 65535,
        default: 443,
        description: 'Public HTTPS port, shared by users and connector tunnels (0 = any free port).',
      }),
      httpPort: Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: 65535,
          description:
            'Plain-HTTP port that answers every request with a 308 ' +
            'redirect to the same host and path over HTTPS, never proxying; only hosts the edge serves are redirected (others get 404 ' +
            '`DB-ROUTE-UNKNOWN-HOST`). Unset: no HTTP port (the default; `drawbridge dev` opens one, `--http-port`). 0 = any free port. ' +
            'It takes no PROXY protocol header.',
        }),
      ),
      trustedProxies: Type.Array(Type.String(), {
        default: [],
        description:
          'Load balancers in front of the public port (addresses or CIDR ranges, e.g. `10.0.0.5/32`), which must start each ' +
          'connection with a PROXY protocol header (v2, or v1) naming the client: that address is then the client address for ' +
          'X-Forwarded-For, per-client limits, the sign-in log and its rate limits. A connection from these addresses without the header, ' +
          'or from any other address with one, is closed (DB-PROXY-HEADER-MISSING, DB-PROXY-HEADER-REFUSED). Empty: no PROXY protocol.',
      }),
    },
    { default: {} },
  ),
  publicPort: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 65535,
      description: 'Port users see in URLs when the edge sits behind a port mapping; default: the listen port.',
    }),
  ),
  tls: Type.Array(
    Type.Object({
      certFile: Type.String({ description: 'PEM certificate chain; its SANs decide which hosts it serves (by SNI).' }),
      keyFile: Type.String(),
    }),
    { minItems: 1 },
  ),
  // `type: 'string'` only so the generated docs name the type of this union.
  tlsProfile: Type.Union([Type.Literal('intermediate'), Type.Literal('modern')], {
    type: 'string',
    default: 'intermediate',
    description:
      "Protocol versions and cipher suites on the public port, after Mozilla's server-side TLS profiles: `intermediate` is TLS 1.2 with " +
      'forward-secret AEAD suites only (ECDHE with AES-GCM or ChaCha20-Poly1305, no CBC) plus TLS 1.3, for every browser of the last years; ' +
      '`modern` is TLS 1.3 only. Connector tunnels always use TLS 1.3.',
  }),
  acme: Type.Optional(
    Type.Object({
      directoryUrl: Type.String({
        description:
          "The ACME server's directory (RFC 8555), e.g. Let's Encrypt's. When set, every enabled app whose host no `tls:` certificate covers and that has no uploaded certificate gets one by itself (TLS-ALPN-01 on the public port, so the port must be reachable as 443 from the ACME server); wildcard apps need an uploaded certificate.",
      }),
      email: Type.Optional(Type.String({ description: 'Contact for the ACME account (expiry notices).' })),
      caFile: Type.Optional(
        Type.String({
          description:
            "PEM bundle to trust for the ACME server's own HTTPS (a private ACME server); default: the system's roots.",
        }),
      ),
      renewBeforeDays: Type.Integer({
        minimum: 1,
        default: 30,
        description: 'An ACME certificate with less than this left is renewed.',
      }),
      checkIntervalSeconds: Type.Integer({
        minimum: 1,
        default: 3600,
        description:
          'How often the edge looks for apps that need a certificate or a renewal (also on every app change).',
      }),
    }),
  ),
  admin: Type.Object(
    {
      host: Type.String({ default: '127.0.0.1' }),
      port: Type.Integer({ minimum: 0, maximum: 65535, default: 8444 }),
      token: Type.Optional(Type.String({ minLength: 24, description: 'Bearer token for the admin API.' })),
      tokenFile: Type.Optional(
        Type.String({ description: 'File holding the bearer token (created with a random token if missing).' }),
      ),
    },
    { default: {} },
  ),
  tunnel: Type.Object(
    {
      hostname: Type.Optional(Type.String({ description: 'Host connectors dial (SNI); default tunnel.<domain>.' })),
      pingIntervalMs: Type.Integer({
        minimum: 100,
        default: 500,
        description:
          'HTTP/2 PING period per tunnel: 3 silent periods eject the tunnel from balancing (its unanswered streams fail over), 10 close it.',
      }),
      certValidityDays: Type.Integer({
        minimum: 2,
        maximum: 3650,
        default: 365,
        description: 'Validity of connector certificates issued at enrollment and renewal.',
      }),
      certRenewBeforeDays: Type.Integer({
        minimum: 1,
        default: 120,
        description:
          'Connector certificates with less than this left are renewed over their tunnel (checked when a tunnel comes up, then hourly); must be below certValidityDays.',
      }),
    },
    { default: {} },
  ),
  limits: Type.Object(
    {
      headersTimeoutMs: Type.Integer({
        minimum: 1000,
        default: 30_000,
        description:
          "Time for a request head to arrive, from its first byte (for a connection's first request, from the end of the TLS handshake): a slower client gets 408 DB-HTTP-TIMEOUT and is disconnected.",
      }),
      keepAliveTimeoutMs: Type.Integer({
        minimum: 1000,
        default: 65_000,
        description: 'An idle connection between requests is closed after this (plus 1 s).',
      }),
      handshakeTimeoutMs: Type.Integer({
        minimum: 1000,
        default: 10_000,
        description:
          'Time for a new connection to send its TLS ClientHello, and again to complete the handshake; a connection that stalls is closed.',
      }),
      bodyIdleTimeoutMs: Type.Integer({
        minimum: 1000,
        default: 30_000,
        description:
          'A request body that sends nothing for this long while the edge is ready to take it is aborted: 408 DB-HTTP-TIMEOUT, and the backend sees an aborted request. RD Gateway channels (RDG_IN_DATA, RDG_OUT_DATA) are exempt.',
      }),
      maxConnectionsPerClient: Type.Integer({
        minimum: 1,
        default: 2048,
        description:
          'Connections one client address (an IPv6 /64) may hold; an extra one gets 503 DB-HTTP-TOO-MANY-CONNECTIONS. Sized for an office behind one NAT address.',
      }),
      maxRequestsPerClient: Type.Integer({
        minimum: 1,
        default: 1024,
        description:
          "Requests one client address (an IPv6 /64) may have in progress; an extra one gets 429 DB-HTTP-TOO-MANY-REQUESTS. Each connector also keeps one client to a quarter of an app backend's connections when the backend is busy (429 DB-BACKEND-CLIENT-SHARE).",
      }),
      maxHeaderBytes: Type.Integer({
        minimum: 4096,
        maximum: 128 * 1024,
        default: 32 * 1024,
        description:
          "Largest request head (request line and headers) a client may send; more gets 431 (414 when the request line alone is longer). Below the tunnel's header list size, so the edge enforces it, never the tunnel.",
      }),
      maxHeaderCount: Type.Integer({
        minimum: 16,
        maximum: 400,
        default: 200,
        description:
          "Most request header fields a client may send; more gets 431. Below the tunnel's header pair limit, so the edge enforces it, never the tunnel.",
      }),
    },
    { default: {} },
  ),
  log: Type.Object({ level: Type.String({ default: 'info' }) }, { default: {} }),
  tracing: Type.Object(
    {
      enabled: Type.Boolean({
        default: false,
        description:
          "Record spans of proxied requests: a `span` log line each (traceId, spanId, parentSpanId) on the edge and on the connector, and an OTLP export when otlpEndpoint is set. Off or on, the edge continues a client's W3C `traceparent` (or starts a trace) and sends it on through the connector to the backend with a span id of each hop.",
      }),
      sampleRatio: Type.Number({
        minimum: 0,
        maximum: 1,
        default: 1,
        description:
          'Share of new traces recorded; a request whose traceparent arrives sampled (flags 01) is recorded whatever this says.',
      }),
      otlpEndpoint: Type.Optional(
        Type.String({
          pattern: '^https?://',
          description:
            'OTLP/HTTP base URL (spans are POSTed as JSON to `<otlpEndpoint>/v1/traces`), e.g. `http://127.0.0.1:4318`. Unset: spans are only logged.',
        }),
      ),
      serviceName: Type.String({ default: 'drawbridge-edge', description: 'service.name of the exported spans.' }),
    },
    { default: {} },
  ),
  // `type: 'object'` only so the generated docs name the type of this union.
  store: Type.Optional(
    Type.Union(
      [
        Type.Object({ kind: Type.Literal('sqlite') }),
        Type.Object({ kind: Type.Literal('postgres'), url: Type.String({ pattern: '^postgres(ql)?://' }) }),
      ],
      {
        type: 'object',
        default: { kind: 'sqlite' },
        description:
          'Where configuration, the identity directory and logs live: `{ kind: sqlite }`, one file in stateDir (one edge node); or `{ kind: postgres, url: postgres://user:password@host:5432/db }`, ' +
          'shared by every edge node of a cluster (changes reach all nodes through LISTEN/NOTIFY; add `?options=-c%20search_path%3D<schema>` for a schema other than public). ' +
          'On postgres the key that seals TOTP and OIDC client secrets is kept in the database, so every node opens what another wrote.',
      },
    ),
  ),
  sessions: Type.Optional(
    Type.Union(
      [
        Type.Object({ kind: Type.Literal('memory') }),
        Type.Object({
          kind: Type.Literal('redis'),
          url: Type.String({ pattern: '^rediss?://' }),
          keyPrefix: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        }),
      ],
      {
        type: 'object',
        default: { kind: 'memory' },
        description:
          'Where sign-in sessions and the short-lived sign-in state (one-time hand-off codes, OIDC and passkey flows, rate limits, lockout counts of unknown names and familiar networks) live, ' +
          "and the edge node registry: `{ kind: memory }`, in the edge process (an edge restart signs everyone out; the registry is then the store's `edge_nodes` table); " +
          'or `{ kind: redis, url: redis://host:6379, keyPrefix?: drawbridge: }`, which survives restarts and is shared by every edge node, so a sign-in begun on one node finishes on another, ' +
          'limits and lockouts count across nodes, and a sign-out or revocation on one ends the session on all. A cluster needs redis here.',
      },
    ),
  ),
  cluster: Type.Object(
    {
      advertise: Type.Optional(
        Type.String({
          pattern: '^https://',
          description:
            "URL at which other edge nodes and connectors reach this node directly (not through a load balancer); listed by `GET /api/v1/edges`. Default: `https://<listen.host>:<port>`, with the machine's host name when listening on every interface.",
        }),
      ),
      nodeId: Type.Optional(
        Type.String({
          pattern: '^[a-z0-9][a-z0-9-]{0,62}$',
          description: "This node's id in the node registry; default `edge-<host name>-<random>`, new at each start.",
        }),
      ),
      drainGraceMs: Type.Integer({
        minimum: 0,
        maximum: 60_000,
        default: 2_000,
        description:
          'On SIGTERM, while other edge nodes are live: how long this node keeps accepting connections after its health check starts failing, so the load balancer sees it down before connections are refused (connectors are asked to move meanwhile). A lone node stops accepting at once.',
      }),
    },
    {
      default: {},
      description:
        'This edge node in the node registry: it announces itself every second with a three-second lifetime (in Redis with `sessions: { kind: redis }`, else in the store), and removes itself when it shuts down.',
    },
  ),
});

export type EdgeConfig = Static<typeof EdgeConfigSchema>;

export function parseEdgeConfig(input: unknown, source = 'edge configuration'): EdgeConfig {
  checkStoreSection(input, source);
  checkSessionsSection(input, source);
  checkTlsProfile(input, source);
  const config = validateConfig(EdgeConfigSchema, input, source);
  const badProxy = config.listen.trustedProxies.find((entry) => parseRange(entry) === null);
  if (badProxy !== undefined) {
    throw new DrawbridgeError(
      'DB-CONFIG-INVALID',
      `${source}:\n  /listen/trustedProxies: ${JSON.stringify(badProxy)} is not an address or CIDR range (e.g. 10.0.0.5/32, 2001:db8::/64)`,
    );
  }
  if (config.tunnel.certRenewBeforeDays >= config.tunnel.certValidityDays) {
    throw new DrawbridgeError(
      'DB-CONFIG-INVALID',
      `${source}: tunnel.certRenewBeforeDays (${config.tunnel.certRenewBeforeDays}) must be below tunnel.certValidityDays (${config.tunnel.certValidityDays}), or every new certificate would be renewed at once`,
    );
  }
  return config;
}

/** The schema can only say "Expected union value" about a bad `store:`; this names the field to fix. */
function checkStoreSection(input: unknown, source: string): void {
  const store = (input as { store?: unknown } | null)?.store;
  if (store === undefined || store === null || typeof store !== 'object') return;
  const { kind, url } = store as { kind?: unknown; url?: unknown };
  const problem =
    kind !== 'sqlite' && kind !== 'postgres'
      ? `/store/kind: sqlite or postgres (got ${JSON.stringify(kind)})`
      : kind === 'postgres' && (typeof url !== 'string' || !/^postgres(ql)?:\/\//.test(url))
        ? '/store/url: postgres needs url: postgres://user:password@host:5432/db'
        : null;
  if (problem) throw new DrawbridgeError('DB-CONFIG-INVALID', `${source}:\n  ${problem}`);
}

/** Like `store:`, a bad `sessions:` would only get "Expected union value": name the field instead. */
function checkSessionsSection(input: unknown, source: string): void {
  const sessions = (input as { sessions?: unknown } | null)?.sessions;
  if (sessions === undefined || sessions === null || typeof sessions !== 'object') return;
  const { kind, url } = sessions as { kind?: unknown; url?: unknown };
  const problem =
    kind !== 'memory' && kind !== 'redis'
      ? `/sessions/kind: memory or redis (got ${JSON.stringify(kind)})`
      : kind === 'redis' && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))
        ? '/sessions/url: redis needs url: redis://host:6379 (or rediss:// for TLS)'
        : null;
  if (problem) throw new DrawbridgeError('DB-CONFIG-INVALID', `${source}:\n  ${problem}`);
}

/** A bad `tlsProfile:` would only get "Expected union value": name the choices instead. */
function checkTlsProfile(input: unknown, source: string): void {
  const profile = (input as { tlsProfile?: unknown } | null)?.tlsProfile;
  if (profile === undefined || profile === 'intermediate' || profile === 'modern') return;
  throw new DrawbridgeError(
    'DB-CONFIG-INVALID',
    `${source}:\n  /tlsProfile: intermediate or modern (got ${JSON.stringify(profile)})`,
  );
}

/** Loads YAML; relative paths in it are resolved against the file's directory. */
export async function loadEdgeConfig(file: string): Promise<EdgeConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DrawbridgeError('DB-CONFIG-INVALID', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new DrawbridgeError('DB-CONFIG-INVALID', `${file} is not valid YAML: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const config = parseEdgeConfig(raw, file);
  const base = path.dirname(path.resolve(file));
  config.stateDir = path.resolve(base, config.stateDir);
  for (const t of config.tls) {
    t.certFile = path.resolve(base, t.certFile);
    t.keyFile = path.resolve(base, t.keyFile);
  }
  if (config.admin.tokenFile) config.admin.tokenFile = path.resolve(base, config.admin.tokenFile);
  return config;
}

export function tunnelHostOf(config: EdgeConfig): string {
  return config.tunnel.hostname ?? `tunnel.${config.domain}`;
}

export function loginHostOf(config: EdgeConfig): string {
  return `login.${config.domain}`;
}
