/**
 * The demo directory `drawbridge dev` seeds: four users who each show one outcome of pre-authentication, and one
 * console administrator per directory role.
 * Idempotent: running it again on an existing state directory keeps the users (and dave's TOTP secret).
 */
import { generateTotpSecret } from '../../identity/totp.ts';
import type { AdminRole } from '../../store/admin-tokens.ts';
import type { DirectoryStore, User } from '../../store/directory-types.ts';
import type { AccessPolicy, LocationInput, NamedLocation, PolicyInput } from '../../store/policy-types.ts';
import { ROLE_GROUPS } from './console-access.ts';

export interface DemoUser {
  username: string;
  password: string;
  totpSecret?: string;
  note: string;
}

const DEMO = [
  {
    name: 'alice',
    displayName: 'Alice Archer',
    group: 'HR',
    sku: 'basic',
    note: 'assigned (through the HR group), basic licence: reaches the app',
  },
  {
    name: 'bob',
    displayName: 'Bob Baker',
    group: 'HR',
    sku: null,
    note: 'assigned (through the HR group), no licence: DB-ACCESS-NO-LICENCE',
  },
  {
    name: 'carol',
    displayName: 'Carol Cooper',
    group: 'Sales',
    sku: 'basic',
    note: 'not assigned to the app (Sales group), basic licence: DB-ACCESS-NOT-ASSIGNED',
  },
  {
    name: 'dave',
    displayName: 'Dave Dalton',
    group: 'HR',
    sku: 'premium',
    note: 'assigned, premium licence, TOTP enrolled: enter the code for totpSecret',
  },
] as const;

export async function seedDemoDirectory(
  directory: DirectoryStore,
  tenantId: string,
  appId: string,
  domain = 'contoso.example',
): Promise<{ users: DemoUser[] }> {
  for (const sku of ['basic', 'premium'] as const) {
    const existing = (await directory.licences.list(tenantId)).find((l) => l.sku === sku);
    if (!existing) await directory.licences.setSeats(tenantId, sku, 25);
  }
  const groupIds = new Map<string, string>();
  for (const name of ['HR', 'Sales']) {
    const group =
      (await directory.groups.getByName(tenantId, name)) ??
      (await directory.groups.create(tenantId, { name, description: `${name} department (demo)` }));
    groupIds.set(name, group.id);
  }
  await directory.assignments.assign(tenantId, appId, { type: 'group', id: groupIds.get('HR') as string });

  const users: DemoUser[] = [];
  for (const d of DEMO) {
    const password = `${d.name}-Demo-2024`;
    const upn = `${d.name}@${domain}`;
    let user: User | null = await directory.users.findByLogin(tenantId, upn);
    if (!user) {
      user = await directory.users.create(tenantId, {
        upn,
        displayName: d.displayName,
        email: upn,
        onPremName: d.name.toUpperCase(),
        password,
      });
    }
    await directory.groups.addMember(tenantId, groupIds.get(d.group) as string, user.id);
    if (d.sku) await directory.licences.assign(tenantId, d.sku, { type: 'user', id: user.id });
    let totpSecret: string | undefined;
    if (d.name === 'dave') {
      const totp = await directory.mfa.getTotp(tenantId, user.id);
      if (totp?.confirmed) totpSecret = totp.secret;
      else {
        totpSecret = generateTotpSecret();
        await directory.mfa.setTotp(tenantId, user.id, totpSecret, true);
      }
    }
    users.push({ username: d.name, password, ...(totpSecret ? { totpSecret } : {}), note: d.note });
  }
  return { users };
}

/**
 * The demo's conditional access: named locations "Office" (127.0.0.0/26) and "Blocked range" (127.0.0.64/27), and
 * two policies: MFA for the HR app outside Office, and every app blocked from Blocked range. A client picks its
 * address with `curl --interface 127.0.0.N`: .1 signs in with a password alone, .100 is asked for MFA, .70 refused.
 * The issue asked for 127.0.0.64/26, but that range (.64–.127) holds .100 too; /27 is .64–.95. Idempotent (by name).
 * Takes the store or the admin API: `drawbridge dev` seeds through the API, so the running edge hears of the change.
 */
export interface PolicySeedTarget {
  locations: {
    list(tenantId: string): Promise<NamedLocation[]>;
    create(tenantId: string, input: LocationInput): Promise<NamedLocation>;
  };
  policies: {
    list(tenantId: string): Promise<AccessPolicy[]>;
    create(tenantId: string, input: PolicyInput): Promise<AccessPolicy>;
  };
}

export const DEMO_LOCATIONS = {
  office: { name: 'Office', cidrs: ['127.0.0.0/26'] },
  blocked: { name: 'Blocked range', cidrs: ['127.0.0.64/27'] },
} as const;
export const DEMO_POLICIES = {
  hrMfa: 'Require MFA for HR outside Office',
  blockRange: 'Block every app from Blocked range',
} as const;

export async function seedDemoPolicies(
  target: PolicySeedTarget,
  tenantId: string,
  hrAppId: string,
): Promise<{ locations: NamedLocation[]; policies: AccessPolicy[] }> {
  const existingLocations = await target.locations.list(tenantId);
  const location = async (l: { name: string; cidrs: readonly string[] }) =>
    existingLocations.find((e) => e.name === l.name) ??
    target.locations.create(tenantId, { name: l.name, cidrs: [...l.cidrs] });
  const office = await location(DEMO_LOCATIONS.office);
  const blocked = await location(DEMO_LOCATIONS.blocked);
  const existingPolicies = await target.policies.list(tenantId);
  const policy = async (input: PolicyInput) =>
    existingPolicies.find((p) => p.name === input.name) ?? target.policies.create(tenantId, input);
  const hrMfa = await policy({
    name: DEMO_POLICIES.hrMfa,
    conditions: { apps: [hrAppId], locations: { include: 'any', exclude: [office.id] } },
    grant: { requireMfa: true },
  });
  const blockRange = await policy({
    name: DEMO_POLICIES.blockRange,
    conditions: { locations: { include: [blocked.id], exclude: [] } },
    grant: { block: true },
  });
  return { locations: [office, blocked], policies: [hrMfa, blockRange] };
}

export interface DemoAdmin {
  username: string;
  password: string;
  role: Exclude<AdminRole, 'global-admin'>;
}

/**
 * One console administrator per role a directory gives (console-access.ts ROLE_GROUPS): a member of that group, and
 * for the app admin the app it administers assigned to it. Idempotent, like the demo users.
 */
export async function seedConsoleAdmins(
  directory: DirectoryStore,
  tenantId: string,
  appAdminAppId: string,
  domain = 'contoso.example',
): Promise<DemoAdmin[]> {
  const names: Record<DemoAdmin['role'], { name: string; displayName: string }> = {
    'tenant-admin': { name: 'tina', displayName: 'Tina Tenant-Admin' },
    'security-reader': { name: 'sam', displayName: 'Sam Security-Reader' },
    'app-admin': { name: 'abe', displayName: 'Abe App-Admin' },
    'connector-operator': { name: 'otto', displayName: 'Otto Connector-Operator' },
  };
  const admins: DemoAdmin[] = [];
  for (const [groupName, role] of ROLE_GROUPS) {
    const group =
      (await directory.groups.getByName(tenantId, groupName)) ??
      (await directory.groups.create(tenantId, { name: groupName, description: `Console role ${role} (demo)` }));
    const { name, displayName } = names[role];
    const upn = `${name}@${domain}`;
    const password = `${name}-Admin-2024`;
    const user =
      (await directory.users.findByLogin(tenantId, upn)) ??
      (await directory.users.create(tenantId, {
        upn,
        displayName,
        email: upn,
        onPremName: name.toUpperCase(),
        password,
      }));
    await directory.groups.addMember(tenantId, group.id, user.id);
    if (role === 'app-admin')
      await directory.assignments.assign(tenantId, appAdminAppId, { type: 'user', id: user.id });
    admins.push({ username: name, password, role });
  }
  return admins;
}
