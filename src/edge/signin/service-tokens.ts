/**
 * Service tokens (issue 13): credentials for automation that opens TCP channels (`drawbridge access tcp|ssh` in a
 * script, CI). A service token is a directory principal, so everything that decides a user's access decides its
 * too: app assignment, licence, enabling and disabling, conditional access, continuous access evaluation, the
 * sign-in log. It is a user whose UPN is `<name>@service-token` and whose password is the token's secret (stored
 * hashed like any password); it never signs in through the browser. The token a client presents is
 * `<user id>.<secret>`.
 */
import { randomBytes } from 'node:crypto';
import type { DirectoryStore, User } from '../../store/directory-types.ts';
import { verifyPassword } from '../../identity/password.ts';

export const SERVICE_TOKEN_DOMAIN = 'service-token';

export function isServiceTokenUpn(upn: string): boolean {
  return upn.endsWith(`@${SERVICE_TOKEN_DOMAIN}`);
}

export interface IssuedServiceToken {
  user: User;
  /** `<user id>.<secret>`: shown once, never stored in clear. */
  token: string;
}

export async function createServiceToken(
  directory: DirectoryStore,
  tenantId: string,
  name: string,
): Promise<IssuedServiceToken> {
  const secret = randomBytes(32).toString('base64url');
  const user = await directory.users.create(tenantId, {
    upn: `${name}@${SERVICE_TOKEN_DOMAIN}`,
    displayName: `Service token ${name}`,
    password: secret,
  });
  return { user, token: `${user.id}.${secret}` };
}

/** A new secret for an existing token (the old one stops working at once). */
export async function rotateServiceToken(directory: DirectoryStore, tenantId: string, user: User): Promise<string> {
  const secret = randomBytes(32).toString('base64url');
  await directory.users.setPassword(tenantId, user.id, secret);
  return `${user.id}.${secret}`;
}

/**
 * The token's user when the secret matches a service token of this tenant. The (deliberately slow) hash is checked
 * only for an id that is a service token: unauthenticated clients cannot make the edge hash at will, and an id is
 * 64 random bits that says nothing by itself.
 */
export async function verifyServiceToken(
  directory: DirectoryStore,
  tenantId: string,
  token: string,
): Promise<{ user: User | null; valid: boolean }> {
  const dot = token.indexOf('.');
  const id = dot > 0 ? token.slice(0, dot) : '';
  const secret = token.slice(dot + 1);
  const user = /^usr_[0-9a-f]{16}$/.test(id) ? await directory.users.get(tenantId, id) : null;
  if (!user || !isServiceTokenUpn(user.upn) || !user.hasPassword) return { user: null, valid: false };
  const valid = await verifyPassword(secret, await directory.users.passwordHash(tenantId, user.id));
  return { user, valid };
}
