/**
 * The admin console (`admin.<domain>`, edge/console/) signs administrators in through the sign-in host like an app
 * does, so the directory's password, MFA and conditional access apply unchanged. It is not an app in the store: a
 * synthetic app with a reserved id stands for it in the sign-in state, the hand-off and the app-host session, and
 * its access decision is membership of the tenant's `Drawbridge Admins` group instead of assignment and licence.
 */
import type { AccessFacts } from '../../store/directory-types.ts';
import type { App } from '../../store/types.ts';
import { decideAccess, type AccessDecision } from '../access/decide.ts';

/** Never a store id (those are `app_…`), so no published app can be mistaken for the console. */
export const CONSOLE_APP_ID = 'console';
/** The directory group whose members administer their tenant through the console (first version: one role). */
export const ADMIN_GROUP = 'Drawbridge Admins';

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

/** The access decision for an app, or for the console: an enabled account in the tenant's admin group. */
export function decideFor(app: App, facts: AccessFacts | null, assignedAppIds: readonly string[]): AccessDecision {
  if (app.id !== CONSOLE_APP_ID) return decideAccess(facts, app.id, assignedAppIds);
  if (!facts || !facts.user.enabled) return decideAccess(facts, app.id, assignedAppIds);
  if (!facts.groups.some((g) => g.name === ADMIN_GROUP)) {
    return { allow: false, code: 'DB-CONSOLE-NOT-ADMIN', reason: 'not-assigned', detail: `${facts.user.upn} is not a member of the group ${ADMIN_GROUP}` };
  }
  return { allow: true, reason: 'allowed', sku: 'admin' };
}

/** `admin.<domain>`: the console's host on the public port. */
export function consoleHostOf(domain: string): string {
  return `admin.${domain.toLowerCase()}`;
}
