/**
 * What a sign-in method is to the sign-in host: the paths it answers and, optionally, a way in it offers on the
 * sign-in page beside the password form. A method proves a factor and then hands over to the shared steps
 * (steps.ts); the registry (methods.ts) lists them. Adding one (SAML, device code, service tokens) is a module that
 * exports a `SigninMethod` and a line in the registry.
 */
import type { Ctx } from './context.ts';
import type { AuthMethod } from './names.ts';
import type { SigninAlternative } from './pages.ts';
import type { SigninRequest } from './steps.ts';

export interface SigninMethod {
  readonly name: AuthMethod;
  /** Exact paths on the sign-in host, or prefixes written `/prefix*`. */
  readonly paths: readonly string[];
  /** Answers a request to one of its paths; false when it has nothing for this HTTP method (the host answers 405/400). */
  handle(r: SigninRequest): Promise<boolean>;
  /** The link(s) the sign-in page shows for this method in this tenant (one per provider for OIDC), or null when it is not offered. */
  alternative?(
    ctx: Ctx,
    tenantId: string,
    stateText: string | null,
  ): Promise<SigninAlternative | SigninAlternative[] | null>;
}

export function answers(method: SigninMethod, pathname: string): boolean {
  return method.paths.some((p) => (p.endsWith('*') ? pathname.startsWith(p.slice(0, -1)) : pathname === p));
}
