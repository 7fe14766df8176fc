/**
 * The store contract. Every row carries its tenant id and every query is scoped by it (except the few edge-wide
 * lookups named as such). One interface, two implementations: `sqlite/` (embedded default, node:sqlite) and
 * `postgres/` (clusters; changes reach every node by LISTEN/NOTIFY); both pass the contract suite in `store/contract.ts`.
 *
 * The interface is async because PostgreSQL is; the request hot path never calls it: the edge keeps routing tables in
 * memory and refreshes them on `onChange`.
 */

import type { KeyRing } from '../identity/keys.ts';
import type { AppSso } from '../tunnel/protocol.ts';
import type { DirectoryStore } from './directory-types.ts';
import type { PolicyStore } from './policy-types.ts';
import type { AppHsts, AppLinkTranslation, AppSessionCookie } from './app-web.ts';
import type { AdminTokenRepo } from './admin-tokens.ts';

export type PreAuth = 'passthrough' | 'idp';
export type { AppSso, AppHsts, AppLinkTranslation, AppSessionCookie };

export interface Tenant {
  id: string;
  /** Lower-case slug, unique across the edge; part of default external URLs (`<app>-<tenant>.<domain>`). */
  name: string;
  displayName: string;
  createdAt: string;
}

export interface ConnectorGroup {
  id: string;
  tenantId: string;
  /** Unique per tenant. */
  name: string;
  createdAt: string;
}

export interface EnrollmentToken {
  id: string;
  tenantId: string;
  groupId: string;
  expiresAt: string;
  usedAt: string | null;
  /** The connector that consumed it. */
  connectorId: string | null;
  createdAt: string;
}

export interface Connector {
  id: string;
  tenantId: string;
  groupId: string;
  name: string;
  enabled: boolean;
  /** Hex serial of the client certificate issued at enrollment or last renewal; the tunnel endpoint accepts it. */
  certSerial: string;
  certNotAfter: string;
  /** The serial it used before its last renewal, still accepted until it dials with the new one (then null). */
  previousCertSerial: string | null;
  version: string | null;
  hostname: string | null;
  lastSeenAt: string | null;
  lastAddress: string | null;
  createdAt: string;
}

export interface App {
  id: string;
  tenantId: string;
  /** Lower-case slug, unique per tenant. */
  name: string;
  /** `https://host[:port]` (no path); unique across the edge. */
  externalUrl: string;
  /** Lower-case host of externalUrl without port: the routing key. */
  externalHost: string;
  /** `http(s)://host[:port][/base]` as seen from the connector. */
  internalUrl: string;
  groupId: string;
  preAuth: PreAuth;
  /** Seconds to wait for the backend's response headers (default 85, "long" 180). */
  backendTimeout: number;
  /** Validate the backend TLS certificate (default true). */
  tlsVerify: boolean;
  /** Extra PEM CA bundle to trust for the backend. */
  backendCa: string | null;
  /** Also retry PUT and DELETE on another connector when a tunnel dies before they reached the backend. */
  retryWrites: boolean;
  /** Single sign-on to the backend (docs/sso.md); `{ mode: 'none' }` by default. */
  sso: AppSso;
  /** Strict-Transport-Security on the app's host; null (default) sends none (store/app-web.ts). */
  hsts: AppHsts | null;
  /** Internal URLs of the tenant's apps → external ones, in headers (default on) and bodies (default off). */
  linkTranslation: AppLinkTranslation;
  /** The app session cookie: persistence, lifetime, SameSite. */
  sessionCookie: AppSessionCookie;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface AuditEvent {
  id: string;
  tenantId: string;
  time: string;
  /** `admin`, `connector:<id>`, `edge`, `user:<id>` … */
  actor: string;
  /** dotted verb: `connector.connected`, `app.created` … */
  action: string;
  target: string | null;
  detail: Record<string, unknown>;
}

export interface Page<T> {
  items: T[];
  /** Opaque cursor for the next page, or null. */
  next: string | null;
}

export type NewApp = Pick<App, 'name' | 'internalUrl' | 'groupId'> &
  Partial<
    Pick<
      App,
      | 'externalUrl'
      | 'preAuth'
      | 'backendTimeout'
      | 'tlsVerify'
      | 'backendCa'
      | 'retryWrites'
      | 'sso'
      | 'enabled'
      | 'hsts'
    >
  > & { linkTranslation?: Partial<AppLinkTranslation>; sessionCookie?: Partial<AppSessionCookie> };
/** Whole objects for the JSON settings (the admin API merges a partial one with the current value). */
export type AppPatch = Partial<Omit<App, 'id' | 'tenantId' | 'externalHost' | 'createdAt' | 'updatedAt'>>;

export interface ConnectorPatch {
  name?: string;
  enabled?: boolean;
  groupId?: string;
  version?: string | null;
  hostname?: string | null;
  lastSeenAt?: string | null;
  lastAddress?: string | null;
  /** Set by certificate renewal only (edge/enroll/renewal.ts), never by the admin API. */
  certSerial?: string;
  certNotAfter?: string;
  previousCertSerial?: string | null;
}

/**
 * What changed, so caches (the edge's routing table, connector configs) refresh only what they must. `user` (id: a
 * user id) and `user-group` (id: a directory group id) say that someone's access may have shrunk — disabled,
 * deleted, password reset, a membership, licence or app assignment removed — so continuous access evaluation
 * re-evaluates their sessions (store/directory-events.ts).
 */
export interface ChangeEvent {
  /** `certificate`: an app's certificate (id: the app's id) was put or removed. */
  kind: 'tenant' | 'group' | 'connector' | 'app' | 'user' | 'user-group' | 'policy' | 'location' | 'certificate';
  tenantId: string;
  id: string;
  op: 'created' | 'updated' | 'deleted';
}

/** Tunnels one edge node holds for one connector. */
export interface EdgeNodeTunnels {
  tenantId: string;
  connectorId: string;
  groupId: string;
  tunnels: number;
  /** Of those, usable (healthy, taking new streams): peers relay the group's requests here only when above 0. Absent from older nodes. */
  usable?: number;
}

/** An edge node of the deployment, as it last reported itself (edge/cluster/registry.ts). Edge-wide, like apps.listAll. */
export interface EdgeNode {
  id: string;
  /** Where other nodes (and connectors) reach this node: `cluster.advertise`. */
  advertise: string;
  version: string;
  startedAt: string;
  /** Its last heartbeat, by the store's clock. */
  lastSeenAt: string;
  /** Requests and upgraded connections in progress at its last heartbeat. */
  inFlight: number;
  tunnels: EdgeNodeTunnels[];
}

/**
 * The tunnel CA shared by every edge node of the store (edge/enroll/tunnel-ca.ts): its certificate and PKCS#8 private
 * key, both PEM. The store seals the key with its key ring; callers see it in clear.
 */
export interface StoredTunnelCa {
  certPem: string;
  keyPem: string;
  createdAt: string;
}

/**
 * A key that signs header SSO's assertions (edge/sso/assertion.ts): its RFC 7638 thumbprint and its private JWK as
 * JSON text (sealed at rest). Every stored key is published in the JWKS; the one `active` key signs.
 */
export interface StoredSigningKey {
  kid: string;
  privateJwk: string;
  active: boolean;
  createdAt: string;
}

/**
 * An app's own certificate for its host (a custom domain): uploaded by an administrator or obtained through ACME
 * (edge/acme/). `host` is the app's externalHost when it was stored: the edge serves it only while the app keeps that
 * host, and only for that host (a certificate's other names never reach other apps). The key is sealed at rest.
 */
export interface StoredAppCertificate {
  tenantId: string;
  appId: string;
  host: string;
  source: 'upload' | 'acme';
  /** PEM chain, leaf first. */
  certPem: string;
  keyPem: string;
  notAfter: string;
  updatedAt: string;
}

/** A TLS-ALPN-01 challenge certificate (RFC 8737) some node is answering an ACME validation with, by host. */
export interface StoredAcmeChallenge {
  host: string;
  certPem: string;
  keyPem: string;
}

/** `policies` and `locations`: conditional access (policy-types.ts), with change events of kind policy and location. */
export interface Store extends PolicyStore {
  /**
   * Apps' certificates and the ACME state, shared by every edge node: any node serves any app's certificate, answers
   * any node's challenge, and one ACME account serves the deployment. Edge-wide reads like apps.listAll.
   */
  certificates: {
    /** Every stored app certificate, for the edge's SNI table. */
    listAll(): Promise<StoredAppCertificate[]>;
    get(tenantId: string, appId: string): Promise<StoredAppCertificate | null>;
    /** Replaces the app's certificate (DB-ADMIN-NOT-FOUND for an unknown app); reported as a `certificate` change. */
    put(
      tenantId: string,
      appId: string,
      cert: Omit<StoredAppCertificate, 'tenantId' | 'appId' | 'updatedAt'>,
    ): Promise<StoredAppCertificate>;
    /** Removes it; false when there was none. */
    delete(tenantId: string, appId: string): Promise<boolean>;
    /** The ACME account key (PKCS#8 PEM) for `directoryUrl`: `keyPem` is kept unless one is stored already (first writer wins). */
    initAcmeAccount(directoryUrl: string, keyPem: string): Promise<string>;
    putAcmeChallenge(challenge: StoredAcmeChallenge): Promise<void>;
    getAcmeChallenge(host: string): Promise<StoredAcmeChallenge | null>;
    deleteAcmeChallenge(host: string): Promise<void>;
    /**
     * Runs `fn` while holding the deployment's ACME lock, so one node at a time places orders; returns
     * `{ ran: false }` at once when another node holds it (PostgreSQL: a session advisory lock; SQLite: one process).
     */
    withAcmeLock<T>(fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
  };
  /**
   * Edge nodes with a heartbeat younger than the TTL it was sent with; one table of the store, used when no Redis is
   * configured (edge/cluster/ picks). Times are the store's own clock, so the nodes' clocks need not agree.
   */
  edgeNodes: {
    /** Records the node, or refreshes it, as alive for `ttlMs` more. */
    heartbeat(node: Omit<EdgeNode, 'lastSeenAt'>, ttlMs: number): Promise<void>;
    remove(id: string): Promise<void>;
    /** Live nodes, by id; forgets long-dead ones. */
    list(): Promise<EdgeNode[]>;
  };
  /**
   * The deployment's edge secrets, the same for every node on this store: the tunnel CA (connectors enrolled through
   * one node are accepted by all) and the assertion signing keys (every node publishes the same JWKS). Edge-wide like
   * edgeNodes. Creation is first-writer-wins, so nodes starting together on an empty store all end up with one CA and
   * one active key.
   */
  edgeKeys: {
    /** The tunnel CA, or null while no node has made or imported one. */
    getTunnelCa(): Promise<StoredTunnelCa | null>;
    /** Keeps `ca` unless a CA is stored already; returns the stored one either way (another node's, if it won). */
    initTunnelCa(ca: { certPem: string; keyPem: string }): Promise<StoredTunnelCa>;
    /** Every published signing key, oldest first. */
    listSigningKeys(): Promise<StoredSigningKey[]>;
    /** Adds `key` as the active key unless a key is active already; returns every key. */
    ensureSigningKey(key: { kid: string; privateJwk: string }): Promise<StoredSigningKey[]>;
    /** Adds `key` as the active key; the others stay published (for tokens they signed) until removed. */
    rotateSigningKey(key: { kid: string; privateJwk: string }): Promise<StoredSigningKey[]>;
    /** Unpublishes a key; refuses (DB-ADMIN-CONFLICT) the active one and (DB-ADMIN-NOT-FOUND) an unknown one. */
    removeSigningKey(kid: string): Promise<void>;
  };
  tenants: {
    create(input: { name: string; displayName?: string }): Promise<Tenant>;
    get(id: string): Promise<Tenant | null>;
    getByName(name: string): Promise<Tenant | null>;
    list(): Promise<Tenant[]>;
    /** Refuses (DB-ADMIN-CONFLICT) while the tenant still has apps or connectors. */
    delete(id: string): Promise<void>;
  };
  groups: {
    create(tenantId: string, input: { name: string }): Promise<ConnectorGroup>;
    get(tenantId: string, id: string): Promise<ConnectorGroup | null>;
    list(tenantId: string): Promise<ConnectorGroup[]>;
    /** Refuses (DB-ADMIN-CONFLICT) while apps or connectors use it. */
    delete(tenantId: string, id: string): Promise<void>;
  };
  enrollmentTokens: {
    /** Returns the row and the secret token text, which is shown once and stored only as a hash. */
    create(tenantId: string, groupId: string, ttlSeconds: number): Promise<{ token: string; row: EnrollmentToken }>;
    /**
     * Atomically marks the token used by `connectorId` (edge-wide lookup by the token text). Throws
     * DB-ENROLL-TOKEN-INVALID when unknown, malformed, used or expired at `now`.
     */
    consume(token: string, connectorId: string, now: Date): Promise<EnrollmentToken>;
    list(tenantId: string): Promise<EnrollmentToken[]>;
  };
  connectors: {
    create(
      input: Omit<
        Connector,
        'createdAt' | 'version' | 'hostname' | 'lastSeenAt' | 'lastAddress' | 'enabled' | 'previousCertSerial'
      > & { enabled?: boolean },
    ): Promise<Connector>;
    get(tenantId: string, id: string): Promise<Connector | null>;
    /** Edge-wide: the tunnel endpoint knows only the certificate. */
    getById(id: string): Promise<Connector | null>;
    list(tenantId: string, groupId?: string): Promise<Connector[]>;
    update(tenantId: string, id: string, patch: ConnectorPatch): Promise<Connector>;
    delete(tenantId: string, id: string): Promise<void>;
  };
  apps: {
    /** Fills externalUrl (default `https://<app>-<tenant>.<domain>[:port]`) via the caller; validates uniqueness. */
    create(tenantId: string, input: NewApp & { externalUrl: string }): Promise<App>;
    get(tenantId: string, id: string): Promise<App | null>;
    list(tenantId: string): Promise<App[]>;
    /** Edge-wide: every enabled and disabled app, for the edge's routing table. */
    listAll(): Promise<App[]>;
    update(tenantId: string, id: string, patch: AppPatch): Promise<App>;
    delete(tenantId: string, id: string): Promise<void>;
  };
  /** Admin API tokens (store/admin-tokens.ts): deployment-wide, scoped to one tenant or all; stored hashed. */
  adminTokens: AdminTokenRepo;
  audit: {
    append(event: Omit<AuditEvent, 'id' | 'time'> & { time?: string }): Promise<AuditEvent>;
    list(
      tenantId: string,
      filter?: { action?: string; target?: string; since?: string; limit?: number; cursor?: string },
    ): Promise<Page<AuditEvent>>;
  };
  /**
   * The identity directory (users, groups, licences, assignments, MFA, settings, sign-in log) in this store's
   * database, with the same tenant scoping; its contract suite is `store/directory-contract.ts`.
   */
  readonly directory: DirectoryStore;
  /**
   * The identity key ring the directory seals secrets (TOTP, OIDC client secret) with: the same for every edge node
   * on this store. SQLite: `<stateDir>/identity.key`; PostgreSQL: a master key in the database (postgres/keys.ts).
   */
  readonly identityKeys: KeyRing;
  /** Subscribe to changes made through this store (and, in a cluster, through any node). Returns unsubscribe. */
  onChange(listener: (event: ChangeEvent) => void): () => void;
  close(): Promise<void>;
}
