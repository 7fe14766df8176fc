/**
 * The console's `credentialFor` (admin-client.ts): a directory administrator reaches the admin API with an admin API
 * token minted through the store for their role, tenant and apps, valid for 10 minutes and reused (per
 * administrator, role and apps) until a minute before it expires. So the API's one authorisation table decides what
 * the console may do, and the audit log's actor is "<UPN> (<token id>)". A change of role (group membership, app
 * assignments) is a new cache key, hence a new token at once. The bootstrap session sends the bootstrap token.
 */
import type { Store } from '../../store/types.ts';
import type { Administrator, CredentialFor } from './admin-client.ts';

export const CONSOLE_TOKEN_TTL_MS = 10 * 60_000;
/** A cached token this close to its expiry is replaced, so no request starts with one about to lapse. */
const RENEW_BEFORE_MS = 60_000;
/** The audit log's "created by" for tokens the console mints. */
export const CONSOLE_MINTER = 'console';

export function consoleCredentials(
  store: Pick<Store, 'adminTokens'>,
  bootstrapToken: string,
  now: () => number = Date.now,
): CredentialFor {
  const cache = new Map<string, { header: Promise<string>; expiresAt: number }>();
  return (admin: Administrator) => {
    if (admin.kind === 'bootstrap') return `Bearer ${bootstrapToken}`;
    const t = now();
    const key = JSON.stringify([admin.tenantId, admin.userId, admin.name, admin.role, admin.appIds]);
    const hit = cache.get(key);
    if (hit && hit.expiresAt - t > RENEW_BEFORE_MS) return hit.header;
    for (const [k, v] of cache) if (v.expiresAt <= t) cache.delete(k);
    const expiresAt = t + CONSOLE_TOKEN_TTL_MS;
    const header = store.adminTokens
      .create({
        administrator: admin.name,
        role: admin.role,
        tenantId: admin.tenantId,
        appIds: [...admin.appIds],
        expiresAt: new Date(expiresAt).toISOString(),
        createdBy: CONSOLE_MINTER,
      })
      .then(({ token }) => `Bearer ${token}`);
    // A failed mint is not cached: the next request tries again.
    header.catch(() => {
      if (cache.get(key)?.header === header) cache.delete(key);
    });
    cache.set(key, { header, expiresAt });
    return header;
  };
}
