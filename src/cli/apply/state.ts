/**
 * A tenant as a tenant file, read through the admin API (so it works against any edge node): the current state
 * `apply` plans against, and what `export` writes. Ids become names; secrets are not read (users' passwords, the
 * OIDC client secret) and nothing that only the edge sets (ids, times, connectors, certificates) is included.
 */
import { stringify } from 'yaml';
import { seg, type AdminClient } from '../admin-client.ts';
import type { AccessPolicy, NamedLocation } from '../../store/policy-types.ts';
import type { App } from '../../store/types.ts';
import type { AppSpec, PolicySpec, Principals, TenantFile, UserSpec } from './model.ts';

/** Name ↔ id of each kind, for the calls that take ids (assignments). */
export interface Ids {
  tenantId: string;
  users: Map<string, string>;
  groups: Map<string, string>;
}

export interface TenantState {
  file: TenantFile;
  ids: Ids;
}

type Items<T> = { items: T[] };
interface Principal {
  type: 'user' | 'group';
  id: string;
}
interface UserRow {
  id: string;
  upn: string;
  displayName: string;
  email: string | null;
  onPremName: string | null;
  enabled: boolean;
}
interface GroupRow {
  id: string;
  name: string;
  description: string;
}
interface LicenceRow {
  sku: string;
  seats: number;
}
interface LicenceAssignmentRow {
  sku: string;
  principal: Principal;
}

const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

export async function readTenant(api: AdminClient, tenant: string): Promise<TenantState> {
  const t = `/tenants/${seg(tenant)}`;
  const tenantRow = await api.request<{ id: string; name: string }>('GET', t);
  const list = async <T>(path: string): Promise<T[]> => (await api.request<Items<T>>('GET', `${t}${path}`)).items;

  const users: UserRow[] = [];
  for (let cursor: string | null = null, pages = 0; pages < 10_000; pages++) {
    const page: Items<UserRow> & { next: string | null } = await api.request(
      'GET',
      `${t}/users?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    users.push(...page.items);
    cursor = page.next;
    if (!cursor) break;
  }
  const [connectorGroups, locations, groups, licences, apps, policies] = await Promise.all([
    list<{ id: string; name: string }>('/connector-groups'),
    list<NamedLocation>('/locations'),
    list<GroupRow>('/user-groups'),
    api.request<Items<LicenceRow> & { assignments: LicenceAssignmentRow[] }>('GET', `${t}/licences`),
    list<App>('/apps'),
    list<AccessPolicy>('/policies'),
  ]);
  const members = await Promise.all(groups.map((g) => list<UserRow>(`/user-groups/${seg(g.id)}/members`)));
  const appAssignments = await Promise.all(
    apps.map((a) => list<{ principal: Principal }>(`/apps/${seg(a.id)}/assignments`)),
  );

  const userName = new Map(users.map((u) => [u.id, u.upn]));
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  const appName = new Map(apps.map((a) => [a.id, a.name]));
  const locationName = new Map(locations.map((l) => [l.id, l.name]));
  const connectorGroupName = new Map(connectorGroups.map((g) => [g.id, g.name]));
  // An id that names nothing any more is kept as the id, so the difference shows.
  const names = (ids: string[], map: Map<string, string>): string[] => ids.map((id) => map.get(id) ?? id).sort();
  const principals = (list: Principal[]): Principals => ({
    users: names(
      list.filter((p) => p.type === 'user').map((p) => p.id),
      userName,
    ),
    groups: names(
      list.filter((p) => p.type === 'group').map((p) => p.id),
      groupName,
    ),
  });

  const file: TenantFile = {
    tenant: tenantRow.name,
    connectorGroups: connectorGroups.map((g) => ({ name: g.name })).sort(byKey((g) => g.name)),
    locations: locations
      .map((l) => ({ name: l.name, cidrs: l.cidrs, countries: l.countries }))
      .sort(byKey((l) => l.name)),
    users: users
      .map(
        (u): UserSpec => ({
          upn: u.upn,
          displayName: u.displayName,
          email: u.email,
          onPremName: u.onPremName,
          enabled: u.enabled,
        }),
      )
      .sort(byKey((u) => u.upn)),
    groups: groups
      .map((g, i) => ({ name: g.name, description: g.description, members: members[i].map((m) => m.upn).sort() }))
      .sort(byKey((g) => g.name)),
    licences: licences.items
      .map((l) => ({
        sku: l.sku,
        seats: l.seats,
        assignments: principals(licences.assignments.filter((a) => a.sku === l.sku).map((a) => a.principal)),
      }))
      .sort(byKey((l) => l.sku)),
    apps: apps
      .map(
        (a, i): AppSpec => ({
          name: a.name,
          connectorGroup: connectorGroupName.get(a.groupId) ?? a.groupId,
          internalUrl: a.internalUrl,
          externalUrl: a.externalUrl,
          preAuth: a.preAuth,
          backendTimeout: a.backendTimeout,
          tlsVerify: a.tlsVerify,
          backendCa: a.backendCa,
          retryWrites: a.retryWrites,
          sso: a.sso as unknown as Record<string, unknown>,
          hsts: a.hsts,
          linkTranslation: { ...a.linkTranslation },
          sessionCookie: { ...a.sessionCookie },
          enabled: a.enabled,
          assignments: principals(appAssignments[i].map((x) => x.principal)),
        }),
      )
      .sort(byKey((a) => a.name)),
    policies: policies
      .map((p): PolicySpec => {
        const c = p.conditions;
        return {
          name: p.name,
          state: p.state,
          conditions: {
            users: {
              include:
                c.users.include === 'all'
                  ? 'all'
                  : { users: names(c.users.include.users, userName), groups: names(c.users.include.groups, groupName) },
              exclude: {
                users: names(c.users.exclude.users, userName),
                groups: names(c.users.exclude.groups, groupName),
              },
            },
            apps: c.apps === 'all' ? 'all' : names(c.apps, appName),
            locations: {
              include: c.locations.include === 'any' ? 'any' : names(c.locations.include, locationName),
              exclude: names(c.locations.exclude, locationName),
            },
            platforms: c.platforms,
            clientTypes: c.clientTypes,
            signinRisk: c.signinRisk,
            time: c.time as unknown as Record<string, unknown> | null,
          },
          grant: { ...p.grant },
        };
      })
      .sort(byKey((p) => p.name)),
  };
  return {
    file,
    ids: {
      tenantId: tenantRow.id,
      users: new Map(users.map((u) => [u.upn.toLowerCase(), u.id])),
      groups: new Map(groups.map((g) => [g.name, g.id])),
    },
  };
}

/** Nulls and empty principal lists are left out: in a file, leaving a field out means "keep it as it is". */
function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v === null || v === undefined) continue;
    out[k] = prune(v);
  }
  return out;
}

/** The tenant file as YAML, with a header saying what it is and what it leaves out. */
export function toYaml(file: TenantFile): string {
  const body = stringify(prune(file), { lineWidth: 0, aliasDuplicateObjects: false });
  return `# Drawbridge tenant file (docs/declarative.md): drawbridge admin apply -f <this file> [--prune] [--dry-run]
# References are by name (users by UPN). Passwords and other secrets are never exported.
${body}`;
}
