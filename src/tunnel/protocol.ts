/**
 * The wire contract between edge and connector. Both sides import this file; neither imports the other.
 *
 * The connector dials TLS to the edge's public port offering ALPN `drawbridge-tunnel/1` and presenting its client
 * certificate. Over that socket the roles reverse: the edge is the HTTP/2 client and the connector the HTTP/2
 * server, so every user request is one HTTP/2 stream with its own flow control.
 */

export const TUNNEL_ALPN = 'drawbridge-tunnel/1';
export const PROTOCOL_VERSION = 1;

/** Paths the edge serves for connectors on the tunnel host over ordinary HTTPS (no client certificate yet). */
export const ENROLL_PATH = '/.drawbridge/v1/enroll';

/** Control streams the edge opens to the connector (never reachable by users: users' requests carry APP_HEADER). */
export const CONTROL_PREFIX = '/.drawbridge/control/';
export const CONTROL_CONFIG_PATH = `${CONTROL_PREFIX}config`;
export const CONTROL_HELLO_PATH = `${CONTROL_PREFIX}hello`;
/** Periodic health report the edge asks each connector for: backend reachability per app. */
export const CONTROL_STATUS_PATH = `${CONTROL_PREFIX}status`;
/**
 * A stream the edge opens once per tunnel and the connector keeps open, to tell the edge things it cannot ask for
 * (the connector, being the HTTP/2 server, opens no streams): newline-delimited JSON `ConnectorEvent`s.
 */
export const CONTROL_EVENTS_PATH = `${CONTROL_PREFIX}events`;
/**
 * Edge → connector events (issue 11): one POST per `EdgeEvent`, answered 200 with an `EdgeEventAck`. A connector that
 * does not know the path answers 404 (an older one): the edge then sends it no more events and does not wait for it.
 */
export const CONTROL_EDGE_EVENT_PATH = `${CONTROL_PREFIX}edge-event`;
/** Certificate renewal, driven by the edge: ask for a CSR (`RenewalCsr`), then hand over the certificate (`RenewalInstall`). */
export const CONTROL_RENEW_CSR_PATH = `${CONTROL_PREFIX}renewal/csr`;
export const CONTROL_RENEW_INSTALL_PATH = `${CONTROL_PREFIX}renewal/install`;

export interface RenewalCsr {
  csr: string;
}

export interface RenewalInstall {
  certificate: string;
}

/** Request-stream metadata, set by the edge only (the edge strips any client-sent `x-drawbridge-*`). */
export const APP_HEADER = 'x-drawbridge-app';
export const CONFIG_VERSION_HEADER = 'x-drawbridge-config-version';
export const REQUEST_ID_HEADER = 'x-drawbridge-request-id';
/** base64url(JSON Identity) of the signed-in user, absent for passthrough apps. */
export const IDENTITY_HEADER = 'x-drawbridge-identity';
/** Set on a request stream that carries an HTTP/1.1 Upgrade (WebSocket…): bytes flow raw after the 101. */
export const UPGRADE_HEADER = 'x-drawbridge-upgrade';
/**
 * Set on a stream that is a TCP channel (issue 13): its value is the `host:port` the edge means, which the connector
 * checks is exactly its app's `tcp://host:port`; then the stream carries raw bytes both ways (END_STREAM ↔ FIN).
 */
export const TCP_HEADER = 'x-drawbridge-tcp';
/** Set by the connector on a response stream when the backend switched protocols (value: the backend status). */
export const UPGRADE_STATUS_HEADER = 'x-drawbridge-upgrade-status';
/** Set by the connector when it answers with a Drawbridge error instead of the backend's response. */
export const ERROR_HEADER = 'x-drawbridge-error';
/** Set by the edge when it records this request's span: the connector records its own (lib/trace-context.ts). */
export const TRACE_RECORD_HEADER = 'x-drawbridge-trace';
export const ERROR_DETAIL_HEADER = 'x-drawbridge-error-detail';
/**
 * A request body of unknown length (chunked from the client) ends with this trailer from the edge. Node ends a
 * stream's readable side on RST_STREAM just as on END_STREAM, and tells them apart only later, so without it the
 * connector could pass a body the client never finished to the backend as a finished one.
 */
export const BODY_END_TRAILER = 'x-drawbridge-body-end';
/**
 * For `sso: headers` apps with `jwt: true`: the ES256 assertion the edge minted for this request's user (the edge holds
 * the signing key and publishes its JWKS; connectors never hold it). The connector sends it to the backend.
 */
export const ASSERTION_HEADER = 'x-drawbridge-assertion';

/** The identity the edge vouches for on a request stream. */
export interface Identity {
  userId: string;
  tenantId: string;
  upn: string;
  displayName: string;
  email: string | null;
  /** sAMAccountName-style on-premises name for SSO mapping. */
  onPremName: string | null;
  groups: string[];
  /** How the user signed in: `password`, `oidc`, plus `totp`/`webauthn` when MFA ran. */
  authMethods: string[];
}

/** Which identity field a Kerberos SSO app delegates as (the AD account the user is in the backend). */
export type SsoLoginIdentity = 'upn' | 'onPremName' | 'upnUserPart' | 'email';

/**
 * Single sign-on to the backend, per app (docs/sso.md):
 * - `none`: the backend sees no identity from Drawbridge;
 * - `kerberos`: the connector obtains a service ticket for the user to `spn` by constrained delegation
 *   (S4U2Self + S4U2Proxy) and sends `Authorization: Negotiate`;
 * - `headers`: the connector sends the user's identity in the named headers and, with `jwt`, the edge-signed
 *   assertion in `x-drawbridge-assertion` (or `headers.jwt` when named).
 */
export type AppSso =
  | { mode: 'none' }
  | { mode: 'kerberos'; spn: string; loginIdentity: SsoLoginIdentity }
  | { mode: 'headers'; headers: SsoHeaderNames; jwt?: boolean };

export interface SsoHeaderNames {
  user?: string;
  email?: string;
  groups?: string;
  /** Header that carries the JWT assertion (default `x-drawbridge-assertion`). */
  jwt?: string;
}

/** App configuration the edge pushes to every connector of the app's group (versioned). */
export interface ConnectorAppConfig {
  id: string;
  name: string;
  internalUrl: string;
  backendTimeout: number;
  tlsVerify: boolean;
  backendCa: string | null;
  /** Absent from older edges: treat as `{ mode: 'none' }`. */
  sso?: AppSso;
  /** The app's external URL (the JWT audience), absent from older edges. */
  externalUrl?: string;
}

export interface ConnectorConfig {
  version: number;
  tenantId: string;
  groupId: string;
  apps: ConnectorAppConfig[];
}

export interface ConnectorHello {
  connectorId: string;
  version: string;
  hostname: string;
  /** Current config version the connector holds (0 = none). */
  configVersion: number;
  /**
   * The connector process holding this tunnel. Several processes of one connector (`connector run --workers N`) each
   * dial their own tunnels: the edge keeps them side by side (none replaces another) and tells them apart by pid.
   */
  pid?: number;
  /** Its worker index (1-based) under `--workers N`; absent for a connector that runs as one process. */
  worker?: number;
}

/** Whether the connector can reach one app's backend (a TCP connect to its internal URL, repeated). */
export interface BackendReachability {
  appId: string;
  reachable: boolean;
  /** ISO time of the last probe. */
  checkedAt: string;
  /** Why the last probe failed (errno code or message), null when reachable. */
  error: string | null;
}

/** The connector's answer to CONTROL_STATUS_PATH. */
export interface ConnectorStatusReport {
  connectorId: string;
  /** True once SIGTERM started the drain. */
  draining: boolean;
  backends: BackendReachability[];
}

/**
 * `draining`: the connector is shutting down. The edge opens no new stream on this tunnel from the moment it reads
 * the event, lets the open ones finish, then closes the tunnel itself. This replaces a connector-sent GOAWAY, which
 * would race: a stream the edge sent before reading the GOAWAY would be dropped unprocessed (nghttp2 ignores new
 * streams once it has sent any GOAWAY) and come back refused. The connector keeps accepting streams until the edge
 * has closed, so no request is lost in the handover. The same event on one tunnel only (with a `reason`) retires that
 * tunnel, e.g. to redial it with a renewed certificate.
 */
export type ConnectorEvent = { type: 'draining'; deadlineMs: number; reason?: string };

/** An edge node as connectors see it: its registry id and the `host:port` to dial (SNI stays the tunnel host). */
export interface EdgeNodeAddress {
  id: string;
  address: string;
}

/**
 * `nodes`: the live edge nodes (`self` is the node that sends it), when the tunnel comes up and whenever the node
 * registry changes; the connector spreads its tunnels over them. `edge-draining`: the node `self` is shutting down;
 * the connector dials a replacement on another node and, once it is up, drains this tunnel with its own `draining`
 * event. Its ack says whether it will (`moving`), so the edge knows whether to wait for it.
 */
export type EdgeEvent =
  | { type: 'nodes'; self: string; nodes: EdgeNodeAddress[] }
  | { type: 'edge-draining'; self: string; deadlineMs: number }
  /**
   * An administrator's rolling restart (`admin connectors upgrade`): the connector drains and exits with
   * CONNECTOR_RESTART_EXIT_CODE, for its service manager to start it again (on the newly installed version). Its ack
   * says whether it will (`restarting`): a connector run without a service manager to bring it back says no.
   */
  | { type: 'restart'; reason?: string }
  /** "Test connection": probe this app's internal URL now and answer with the result (`connectionTest`). */
  | { type: 'test-connection'; appId: string };

/** One probe of an app's internal URL by one connector (an HTTP GET, no identity). */
export interface ConnectionTestResult {
  appId: string;
  connectorId: string;
  url: string;
  /** The backend's HTTP status; null: no answer (see `error`). */
  status: number | null;
  /** Milliseconds until the answer's headers (or the error). */
  ms: number;
  /** Why there was no answer: an errno code (ECONNREFUSED, ETIMEDOUT…), a TLS error, or "not published on this connector's group". */
  error: string | null;
  checkedAt: string;
}

export interface EdgeEventAck {
  moving?: boolean;
  restarting?: boolean;
  /** The answer to a `test-connection` event (absent: a connector that does not know the event). */
  connectionTest?: ConnectionTestResult;
}

/** The exit code of a connector restarting on request (EX_TEMPFAIL): systemd's Restart=on-failure starts it again. */
export const CONNECTOR_RESTART_EXIT_CODE = 75;

export function encodeIdentity(identity: Identity): string {
  return Buffer.from(JSON.stringify(identity)).toString('base64url');
}

export function decodeIdentity(value: string): Identity {
  return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Identity;
}
