/**
 * The tenant file of `drawbridge admin apply` / `export` (docs/declarative.md): one tenant's connector groups, named
 * locations, users, user groups, licences, apps with their assignments, and conditional access policies, every
 * reference by name (users by UPN), never by id. A section left out is not managed; a field left out of an object
 * keeps its current value; lists of members and assignments, when given, are the whole list.
 */

export interface Principals {
  users?: string[];
  groups?: string[];
}

export interface ConnectorGroupSpec {
  name: string;
}
export interface LocationSpec {
  name: string;
  cidrs?: string[];
  countries?: string[];
}
export interface UserSpec {
  upn: string;
  displayName?: string;
  email?: string | null;
  onPremName?: string | null;
  enabled?: boolean;
}
export interface GroupSpec {
  name: string;
  description?: string;
  members?: string[];
}
export interface LicenceSpec {
  sku: string;
  seats?: number;
  assignments?: Principals;
}
export interface AppSpec {
  name: string;
  connectorGroup?: string;
  internalUrl?: string;
  externalUrl?: string;
  preAuth?: 'idp' | 'passthrough';
  backendTimeout?: number;
  tlsVerify?: boolean;
  backendCa?: string | null;
  retryWrites?: boolean;
  sso?: Record<string, unknown>;
  hsts?: { maxAge: number; includeSubDomains?: boolean } | null;
  linkTranslation?: Record<string, unknown>;
  sessionCookie?: Record<string, unknown>;
  enabled?: boolean;
  assignments?: Principals;
}
export interface PolicySpec {
  name: string;
  state?: 'on' | 'off' | 'report-only';
  conditions?: {
    users?: { include?: 'all' | Principals; exclude?: Principals };
    apps?: 'all' | string[];
    locations?: { include?: 'any' | string[]; exclude?: string[] };
    platforms?: string[] | null;
    clientTypes?: string[] | null;
    signinRisk?: string[] | null;
    time?: Record<string, unknown> | null;
  };
  grant?: Record<string, unknown>;
}

export interface TenantFile {
  tenant: string;
  connectorGroups?: ConnectorGroupSpec[];
  locations?: LocationSpec[];
  users?: UserSpec[];
  groups?: GroupSpec[];
  licences?: LicenceSpec[];
  apps?: AppSpec[];
  policies?: PolicySpec[];
}

export type Section = Exclude<keyof TenantFile, 'tenant'>;

export interface Kind {
  section: Section;
  /** How the plan names one. */
  label: string;
  /** The field that names an object (its identity in the file). */
  key: 'name' | 'upn' | 'sku';
  /** Objects of this kind are never deleted (licences: the SKUs are fixed; set seats to 0). */
  noDelete?: boolean;
  /** Fields the API cannot change once created: a difference is reported, not applied. */
  createOnly?: string[];
}

/**
 * Dependency order: creates and updates run top to bottom (a connector group before the apps on it, users before
 * the groups that list them, locations, apps and groups before the policies naming them); deletions bottom to top.
 */
export const KINDS: readonly Kind[] = [
  { section: 'connectorGroups', label: 'connector group', key: 'name' },
  { section: 'locations', label: 'named location', key: 'name' },
  { section: 'users', label: 'user', key: 'upn' },
  { section: 'groups', label: 'group', key: 'name', createOnly: ['description'] },
  { section: 'licences', label: 'licence', key: 'sku', noDelete: true },
  { section: 'apps', label: 'app', key: 'name' },
  { section: 'policies', label: 'policy', key: 'name' },
];

export const kindOf = (section: Section): Kind => KINDS.find((k) => k.section === section) as Kind;
