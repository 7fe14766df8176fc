/**
 * The admin console (`admin.<domain>`, edge/console/) signs administrators in through the sign-in host like an app
 * does, so the directory's password, MFA and conditional access apply unchanged. It is not an app in the store: a
 * synthetic app with a reserved id stands for it in the sign-in state, the hand-off and the app-host session, and
 * its access decision is membership of one of the tenant's console groups (ROLE_GROUPS) instead of assignment and
 * licence, and that group gives the administrator their role (docs/admin-roles.md).
 */
import type { AdminRole } from '../../store/admin-tokens.ts';
import type { AccessFacts } from '../../store/directory-types.ts';
import type { App } from '../../store/types.ts';
import { decideAccess, type AccessDecision } from '../access/decide.ts';

/** Never a store id (those are `app_…`), so no published app can be mistaken for the console. */
export const CONSOLE_APP_ID = 'console';
/** The directory group whose members administer their whole tenant through the console. */
export const ADMIN_GROUP = 'Drawbridge Admins';

/**
 * Directory groups → the role their members act with in the console, most powerful first: a member of several gets
 * the first. Global admin is never given by a tenant's directory (only the bootstrap token or a global API token).
 * An app admin administers the apps they are assigned to (directly or through a group): the assignment that lets
 * them open the app also names what they manage; with none assigned they are not an administrator.
 */
export const ROLE_GROUPS: ReadonlyArray<readonly [group: string, role: Exclude<AdminRole, 'global-admin'>]> = [
  [ADMIN_GROUP, 'tenant-admin'],
  ['Drawbridge Connector Operators', 'connector-operator'],
  ['Drawbridge App Admins', 'app-admin'],
  ['Drawbridge Security Readers', 'security-reader'],
];

export interface ConsoleRole {
  role: Exclude<AdminRole, 'global-admin'>;
  /** App admin: the apps they administer. */
  appIds: string[];
}

/** The role a directory user acts with in the console, or null: not an administrator. */
export function consoleRoleOf(groupNames: readonly string[], assignedAppIds: readonly string[]): ConsoleRole | null {
  for (const [group, role] of ROLE_GROUPS) {
    if (!groupNames.includes(group)) continue;
    if (role === 'app-admin') {
      if (assignedAppIds.length === 0) continue;
      return { role, appIds: [...assignedAppIds].sort() };
    }
    return { role, appIds: [] };
  }
  return null;
}

/** The console as the sign-in steps see it: pre-authenticated, its own origin, a host-only browser-session cookie (8 h at most). */
export function consoleApp(tenantId: string, origin: string): App {
  const host = new URL(origin).hostname;
  return {
    id: CONSOLE_APP_ID,
    tenantId,
    name: 'Drawbridge admin console',
    externalUrl: origin,
    externalHost: host,
    internalUrl: origin,
    groupId: '',
    preAuth: 'idp',
    backendTimeout: 85,
    tlsVerify: true,
    backendCa: null,
    retryWrites: false,
    sso: { mode: 'none' },
    hsts: null,
    linkTranslation: { headers: false, body: false },
    sessionCookie: { persistent: 'never', lifetimeSeconds: 8 * 3600, sameSite: 'Lax' },
    enabled: true,
    createdAt: new Date(0).toISOString(),
    updatedAt: new Date(0).toISOString(),
  };
}

/** The access decision for an app, or for the console: an enabled account in one of the tenant's console groups. */
export function decideFor(app: App, facts: AccessFacts | null, assignedAppIds: readonly string[]): AccessDecision {
  if (app.id !== CONSOLE_APP_ID) return decideAccess(facts, app.id, assignedAppIds);
  if (!facts || !facts.user.enabled) return decideAccess(facts, app.id, assignedAppIds);
  if (
    !consoleRoleOf(
      facts.groups.map((g) => g.name),
      assignedAppIds,
    )
  ) {
    return {
      allow: false,
      code: 'DB-CONSOLE-NOT-ADMIN',
      reason: 'not-assigned',
      detail: `${facts.user.upn} is in none of the groups ${ROLE_GROUPS.map(([g]) => g).join(', ')} (an app admin also needs an app assigned)`,
    };
  }
  return { allow: true, reason: 'allowed', sku: 'admin' };
}

/** `admin.<domain>`: the console's host on the public port. */
export function consoleHostOf(domain: string): string {
  return `admin.${domain.toLowerCase()}`;
}
