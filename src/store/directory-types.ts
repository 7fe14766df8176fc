/**
 * The directory contract: per-tenant users, groups, memberships, licences, app assignments, MFA credentials,
 * identity settings (MFA policy, OIDC federation) and the sign-in log. Like `Store`, every call is scoped by tenant,
 * and the interface is async so a PostgreSQL implementation can follow. TOTP secrets are encrypted at rest by the
 * implementation (callers pass and receive base32 text).
 */
import type { Page } from './types.ts';

export type LicenceSku = 'free' | 'basic' | 'premium';
export const LICENCE_SKUS: readonly LicenceSku[] = ['free', 'basic', 'premium'];
/** SKUs that include application publishing (pre-authenticated access through the edge). */
export const PUBLISHING_SKUS: readonly LicenceSku[] = ['basic', 'premium'];

export type PrincipalType = 'user' | 'group';
export interface Principal {
  type: PrincipalType;
  id: string;
}

export interface User {
  id: string;
  tenantId: string;
  /** User principal name, lower-case, unique per tenant: `alice@contoso.example` or plain `alice`. */
  upn: string;
  displayName: string;
  email: string | null;
  /** On-premises account name (sAMAccountName) for Kerberos/header SSO mapping. */
  onPremName: string | null;
  enabled: boolean;
  /** Where the account comes from: `local` or `oidc`. */
  source: 'local' | 'oidc';
  hasPassword: boolean;
  failedCount: number;
  lockedUntil: string | null;
  lastSignInAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface NewUser {
  upn: string;
  displayName?: string;
  email?: string | null;
  onPremName?: string | null;
  enabled?: boolean;
  source?: 'local' | 'oidc';
  /** Plain text; hashed before it is stored. */
  password?: string;
}

export type UserPatch = Partial<Pick<User, 'displayName' | 'email' | 'onPremName' | 'enabled'>>;

export interface DirectoryGroup {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  /** Set for groups mirrored from the federated provider's `groups` claim. */
  externalId: string | null;
  createdAt: string;
}

export interface Licence {
  tenantId: string;
  sku: LicenceSku;
  seats: number;
  /** Distinct users holding it directly or through groups. */
  used: number;
}

export interface LicenceAssignment {
  tenantId: string;
  sku: LicenceSku;
  principal: Principal;
  createdAt: string;
}

export interface AppAssignment {
  tenantId: string;
  appId: string;
  principal: Principal;
  createdAt: string;
}

export interface TotpEnrollment {
  /** Base32 secret (decrypted). */
  secret: string;
  confirmed: boolean;
  /** Last time step accepted (replay protection). */
  lastStep: number | null;
  createdAt: string;
}

export interface WebAuthnCredential {
  id: string;
  tenantId: string;
  userId: string;
  /** base64url credential id. */
  credentialId: string;
  /** base64url COSE public key. */
  publicKey: string;
  counter: number;
  transports: string[];
  name: string;
  createdAt: string;
  lastUsedAt: string | null;
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  /** Button label on the sign-in page. */
  displayName: string;
  scopes: string[];
  /** Claim that becomes the UPN (default `preferred_username`, then `email`). */
  usernameClaim: string;
  /** Claim holding group names (default `groups`). */
  groupsClaim: string;
  /** Create users on first sign-in (default true). */
  autoCreateUsers: boolean;
  /** Allow a plain-HTTP issuer on loopback (tests, labs). Never in production. */
  allowInsecureLoopback?: boolean;
}

/**
 * One of a tenant's OpenID Connect providers. `domains` are the e-mail domains it owns for home realm discovery: a
 * user who types `alice@contoso.example` goes straight to the provider owning `contoso.example`. The provider with id
 * `default` is the one the single-provider `IdentitySettings.oidc` reads and writes.
 */
export interface OidcProvider extends OidcSettings {
  /** Lower-case slug, unique in the tenant. */
  id: string;
  /** Lower-case e-mail domains, each owned by at most one provider of the tenant. */
  domains: string[];
  /** The chooser's button (default `Sign in with <displayName>`). */
  buttonLabel: string;
}

/** What an administrator gives for a provider: the defaults of OidcSettings apply, plus no domains and a default button. */
export type OidcProviderInput = Partial<Omit<OidcProvider, 'id' | 'issuer' | 'clientId'>> &
  Pick<OidcProvider, 'id' | 'issuer' | 'clientId'>;

export interface IdentitySettings {
  tenantId: string;
  requireMfa: boolean;
  /** Session lifetimes, seconds. */
  sessionIdleSeconds: number;
  sessionAbsoluteSeconds: number;
  /** Offer "stay signed in" (persistent app cookies). */
  allowPersistentSessions: boolean;
  oidc: OidcSettings | null;
}

export type SigninResult = 'success' | 'failure' | 'denied' | 'interrupted';

export interface SigninLogEntry {
  id: string;
  tenantId: string;
  time: string;
  /** `signin` (credentials), `mfa`, `access` (decision for an app), `signout`, `federation`. */
  event: string;
  userId: string | null;
  /** What was typed or asserted (kept for failed attempts against unknown users). */
  username: string | null;
  appId: string | null;
  clientIp: string | null;
  userAgent: string | null;
  result: SigninResult;
  /** Catalogue code for failures and denials, null for success. */
  code: string | null;
  /** `password`, `oidc`. */
  authMethod: string | null;
  /** `totp`, `recovery`, `webauthn`, or null. */
  mfaMethod: string | null;
  correlationId: string | null;
  detail: Record<string, unknown>;
}

export interface SigninLogFilter {
  userId?: string;
  username?: string;
  appId?: string;
  result?: SigninResult;
  code?: string;
  event?: string;
  clientIp?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}

/** The window and size of a security report: `since` inclusive, `until` exclusive (ISO times); top-N lists by `limit`. */
export interface ReportRange {
  since: string;
  until: string;
  /** For top-N and listing reports (default 10 for top lists, 100 for risky sign-ins). */
  limit?: number;
}

/**
 * Security reports over the sign-in log, computed by the store in SQL (store/report-rules.ts defines what counts).
 * Sign-ins are the `signin` and `federation` rows (credential checks); failures are rows whose result is not
 * `success`; app use is the `access` rows.
 */
export interface SigninReports {
  signinsByDay(tenantId: string, range: ReportRange): Promise<{ day: string; result: SigninResult; count: number }[]>;
  failuresByCode(tenantId: string, range: ReportRange): Promise<{ code: string; count: number }[]>;
  mfaMethods(tenantId: string, range: ReportRange): Promise<{ method: string; count: number }[]>;
  topApps(
    tenantId: string,
    range: ReportRange,
  ): Promise<{ appId: string; total: number; allowed: number; denied: number }[]>;
  topUsers(
    tenantId: string,
    range: ReportRange,
  ): Promise<{ userId: string | null; username: string | null; total: number; failures: number }[]>;
  /** Sign-ins per client address (the API maps addresses to countries and named locations). */
  byClientIp(tenantId: string, range: ReportRange): Promise<{ clientIp: string; total: number; failures: number }[]>;
  /** Newest first: rows carrying risk signals (`detail.riskSignals`) or a code that is one (report-rules.ts). */
  risky(tenantId: string, range: ReportRange): Promise<SigninLogEntry[]>;
}

/** What the access decision needs about one user, in one read. */
export interface AccessFacts {
  user: User;
  groups: DirectoryGroup[];
  /** SKUs the user holds (directly or via a group) within seat counts. */
  skus: LicenceSku[];
}

export interface DirectoryStore {
  users: {
    create(tenantId: string, input: NewUser): Promise<User>;
    get(tenantId: string, id: string): Promise<User | null>;
    /** By UPN, or by the part before `@` when that is unique in the tenant. Case-insensitive. */
    findByLogin(tenantId: string, login: string): Promise<User | null>;
    list(tenantId: string, filter?: { search?: string; limit?: number; cursor?: string }): Promise<Page<User>>;
    update(tenantId: string, id: string, patch: UserPatch): Promise<User>;
    delete(tenantId: string, id: string): Promise<void>;
    setPassword(tenantId: string, id: string, password: string | null): Promise<void>;
    /** The stored PHC hash, for the sign-in check only. */
    passwordHash(tenantId: string, id: string): Promise<string | null>;
    /** Replace the stored hash (rehash with stronger parameters after a successful sign-in). */
    setPasswordHash(tenantId: string, id: string, hash: string): Promise<void>;
    setLockout(tenantId: string, id: string, state: { failedCount: number; lockedUntil: string | null }): Promise<void>;
    recordSignIn(tenantId: string, id: string, at: string): Promise<void>;
    /** Federated identity link: `(issuer, subject)` → user. */
    findByExternal(tenantId: string, issuer: string, subject: string): Promise<User | null>;
    /** `providerId` records which of the tenant's providers made the link. */
    linkExternal(
      tenantId: string,
      id: string,
      issuer: string,
      subject: string,
      providerId?: string | null,
    ): Promise<void>;
    /** The user's federated links, oldest first. */
    externalLinks(
      tenantId: string,
      id: string,
    ): Promise<{ issuer: string; subject: string; providerId: string | null }[]>;
  };
  groups: {
    create(
      tenantId: string,
      input: { name: string; description?: string; externalId?: string | null },
    ): Promise<DirectoryGroup>;
    get(tenantId: string, id: string): Promise<DirectoryGroup | null>;
    getByName(tenantId: string, name: string): Promise<DirectoryGroup | null>;
    list(tenantId: string): Promise<DirectoryGroup[]>;
    delete(tenantId: string, id: string): Promise<void>;
    addMember(tenantId: string, groupId: string, userId: string): Promise<void>;
    removeMember(tenantId: string, groupId: string, userId: string): Promise<void>;
    members(tenantId: string, groupId: string): Promise<User[]>;
    forUser(tenantId: string, userId: string): Promise<DirectoryGroup[]>;
    /** Makes the user's memberships among groups with an externalId exactly `externalIds` (federated groups). */
    syncExternal(tenantId: string, userId: string, groups: { externalId: string; name: string }[]): Promise<void>;
  };
  licences: {
    /** Creates or resizes a SKU's seat pool. */
    setSeats(tenantId: string, sku: LicenceSku, seats: number): Promise<Licence>;
    list(tenantId: string): Promise<Licence[]>;
    assign(tenantId: string, sku: LicenceSku, principal: Principal): Promise<LicenceAssignment>;
    unassign(tenantId: string, sku: LicenceSku, principal: Principal): Promise<void>;
    assignments(tenantId: string, sku?: LicenceSku): Promise<LicenceAssignment[]>;
  };
  assignments: {
    assign(tenantId: string, appId: string, principal: Principal): Promise<AppAssignment>;
    unassign(tenantId: string, appId: string, principal: Principal): Promise<void>;
    list(tenantId: string, appId: string): Promise<AppAssignment[]>;
    /** True when the user or one of their groups is assigned to the app. */
    isAssigned(tenantId: string, appId: string, userId: string): Promise<boolean>;
    /** Apps assigned to the user directly or through groups (for the portal). */
    appsForUser(tenantId: string, userId: string): Promise<string[]>;
  };
  access: {
    facts(tenantId: string, userId: string): Promise<AccessFacts | null>;
  };
  mfa: {
    getTotp(tenantId: string, userId: string): Promise<TotpEnrollment | null>;
    /** Starts (or restarts) an unconfirmed enrolment. */
    setTotp(tenantId: string, userId: string, secret: string, confirmed?: boolean): Promise<void>;
    confirmTotp(tenantId: string, userId: string, step: number): Promise<void>;
    /** Compare-and-set: true only when `step` is newer than the last step used (refuses replays across nodes). */
    useTotpStep(tenantId: string, userId: string, step: number): Promise<boolean>;
    /** Removes TOTP, recovery codes and passkeys (admin reset). */
    reset(tenantId: string, userId: string): Promise<void>;
    setRecoveryCodes(tenantId: string, userId: string, hashes: string[]): Promise<void>;
    /** Consumes one recovery code by hash; true when it existed and was unused. */
    useRecoveryCode(tenantId: string, userId: string, hash: string): Promise<boolean>;
    recoveryCodesLeft(tenantId: string, userId: string): Promise<number>;
    webauthnList(tenantId: string, userId: string): Promise<WebAuthnCredential[]>;
    webauthnFind(tenantId: string, credentialId: string): Promise<WebAuthnCredential | null>;
    webauthnAdd(
      tenantId: string,
      userId: string,
      cred: Pick<WebAuthnCredential, 'credentialId' | 'publicKey' | 'counter' | 'transports' | 'name'>,
    ): Promise<WebAuthnCredential>;
    webauthnUse(tenantId: string, credentialId: string, counter: number): Promise<void>;
    webauthnDelete(tenantId: string, userId: string, id: string): Promise<void>;
    /** Which second factors the user can use now. */
    methods(tenantId: string, userId: string): Promise<{ totp: boolean; webauthn: boolean; recoveryCodes: number }>;
  };
  settings: {
    get(tenantId: string): Promise<IdentitySettings>;
    update(tenantId: string, patch: Partial<Omit<IdentitySettings, 'tenantId'>>): Promise<IdentitySettings>;
    /** The tenant's OpenID Connect providers, in the order the chooser shows them. */
    providers(tenantId: string): Promise<OidcProvider[]>;
    /** Creates or replaces a provider by id (client secret sealed); DB-ADMIN-INVALID on a bad field or a domain another provider owns. */
    putProvider(tenantId: string, input: OidcProviderInput): Promise<OidcProvider>;
    /** True when it existed. */
    deleteProvider(tenantId: string, id: string): Promise<boolean>;
  };
  signinLog: {
    append(entry: Omit<SigninLogEntry, 'id' | 'time'> & { time?: string }): Promise<SigninLogEntry>;
    query(tenantId: string, filter?: SigninLogFilter): Promise<Page<SigninLogEntry>>;
  };
  reports: SigninReports;
}
