/** The registry of sign-in methods, in the order the sign-in page offers them. */
import type { Ctx } from './context.ts';
import { answers, type SigninMethod } from './method.ts';
import { oidcMethod } from './oidc.ts';
import type { SigninAlternative } from './pages.ts';
import { passwordMethod } from './password.ts';
import { totpMethod } from './totp.ts';
import { passkeyMethod } from './webauthn.ts';

export const SIGNIN_METHODS: readonly SigninMethod[] = [passwordMethod, totpMethod, passkeyMethod, oidcMethod];

export function methodFor(pathname: string): SigninMethod | null {
  return SIGNIN_METHODS.find((m) => answers(m, pathname)) ?? null;
}

/** The other ways in the sign-in page offers beside the password form. */
export async function signinAlternatives(
  ctx: Ctx,
  tenantId: string,
  stateText: string | null,
): Promise<SigninAlternative[]> {
  const offered = await Promise.all(SIGNIN_METHODS.map((m) => m.alternative?.(ctx, tenantId, stateText) ?? null));
  return offered.flat().filter((a): a is SigninAlternative => a !== null);
}
