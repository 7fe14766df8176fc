/**
 * Conditional access: policies per tenant and the named locations they refer to. Stored as whole documents
 * (conditions and grant as JSON) by both stores; `policy-rules.ts` checks them before either store writes one, and
 * the pure evaluator (`edge/access/policies.ts`) reads them.
 */

/** `report-only`: evaluated and logged as what it would have done, never enforced. */
export const POLICY_STATES = ['on', 'off', 'report-only'] as const;
export type PolicyState = (typeof POLICY_STATES)[number];

export const PLATFORMS = ['windows', 'macos', 'linux', 'ios', 'android', 'chromeos', 'unknown'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** A browser, Drawbridge's own client (User-Agent `drawbridge-client/…`), or a service token (no person present). */
export const CLIENT_TYPES = ['browser', 'drawbridge-client', 'service-token'] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];

export const RISK_LEVELS = ['none', 'low', 'medium', 'high'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export const RISK_SIGNALS = ['new-country', 'impossible-travel', 'failure-burst', 'password-spray'] as const;
export type RiskSignal = (typeof RISK_SIGNALS)[number];

/** Users and groups by id. */
export interface PrincipalSet {
  users: string[];
  groups: string[];
}

export interface TimeWindow {
  /** Days the window applies on, 0 = Sunday … 6 = Saturday; all days when empty. */
  days: number[];
  /** `HH:MM`, 24-hour; `to` before `from` spans midnight. */
  from: string;
  to: string;
  /** IANA time zone the window is read in (default UTC). */
  timeZone: string;
}

export interface PolicyConditions {
  /** Who: everyone or a list; `exclude` always wins (break-glass accounts). */
  users: { include: 'all' | PrincipalSet; exclude: PrincipalSet };
  /** Which apps: all, or a list of app ids. */
  apps: 'all' | string[];
  /** Client network by named location id: `any`, or a list; a client in an excluded location never matches. */
  locations: { include: 'any' | string[]; exclude: string[] };
  /** Device platforms that match; null for any. */
  platforms: Platform[] | null;
  /** Client types that match; null for any. */
  clientTypes: ClientType[] | null;
  /** Sign-in risk levels that match; null for any. */
  signinRisk: RiskLevel[] | null;
  /** Matches when the time is inside the window (use it with block for "outside office hours", inverted by `outside`). */
  time: (TimeWindow & { outside: boolean }) | null;
}

export interface PolicyGrant {
  block: boolean;
  requireMfa: boolean;
  /** Only a passkey (WebAuthn) counts. */
  requirePhishingResistantMfa: boolean;
  /** Re-authenticate when the sign-in is older than this many hours; null: no limit. */
  signInFrequencyHours: number | null;
  /** `always`/`never` persist the app session cookie regardless of "stay signed in"; null: the user's choice. */
  persistentSession: 'always' | 'never' | null;
}

export interface AccessPolicy {
  id: string;
  tenantId: string;
  /** Unique per tenant. */
  name: string;
  state: PolicyState;
  conditions: PolicyConditions;
  grant: PolicyGrant;
  createdAt: string;
  updatedAt: string;
}

export interface NamedLocation {
  id: string;
  tenantId: string;
  /** Unique per tenant. */
  name: string;
  /** Addresses and CIDR ranges, IPv4 or IPv6. */
  cidrs: string[];
  /** ISO 3166-1 alpha-2 codes, upper-case, resolved from the client address with the configured country database. */
  countries: string[];
  createdAt: string;
  updatedAt: string;
}

/** What callers pass: conditions and grant may be partial (defaults: everyone, all apps, anywhere, no grant). */
export interface PolicyInput {
  name: string;
  state?: PolicyState;
  conditions?: Partial<Omit<PolicyConditions, 'users' | 'locations'>> & {
    users?: Partial<PolicyConditions['users']>;
    locations?: Partial<PolicyConditions['locations']>;
  };
  grant?: Partial<PolicyGrant>;
}
export type PolicyPatch = Partial<PolicyInput>;

export interface LocationInput {
  name: string;
  cidrs?: string[];
  countries?: string[];
}
export type LocationPatch = Partial<LocationInput>;

export interface PolicyStore {
  policies: {
    create(tenantId: string, input: PolicyInput): Promise<AccessPolicy>;
    get(tenantId: string, id: string): Promise<AccessPolicy | null>;
    list(tenantId: string): Promise<AccessPolicy[]>;
    update(tenantId: string, id: string, patch: PolicyPatch): Promise<AccessPolicy>;
    delete(tenantId: string, id: string): Promise<void>;
  };
  locations: {
    create(tenantId: string, input: LocationInput): Promise<NamedLocation>;
    get(tenantId: string, id: string): Promise<NamedLocation | null>;
    list(tenantId: string): Promise<NamedLocation[]>;
    update(tenantId: string, id: string, patch: LocationPatch): Promise<NamedLocation>;
    /** Refused (DB-ADMIN-CONFLICT) while a policy names it. */
    delete(tenantId: string, id: string): Promise<void>;
  };
}
