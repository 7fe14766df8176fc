/**
 * The names the sign-in code writes into sessions, identities and the sign-in log: one list each, so a new sign-in
 * method or log event is added here and the compiler finds every place that must know it.
 */

/** How a user proved who they are: first factors (`password`, `oidc`, `webauthn` passwordless) and second ones. */
export const AUTH_METHODS = ['password', 'oidc', 'webauthn', 'totp', 'recovery', 'service-token'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** Methods that count as the second factor of a sign-in. */
export const MFA_METHODS = ['totp', 'recovery', 'webauthn'] as const satisfies readonly AuthMethod[];
export type MfaMethod = (typeof MFA_METHODS)[number];

export function isMfaMethod(method: string): method is MfaMethod {
  return (MFA_METHODS as readonly string[]).includes(method);
}

/** Sign-in log events: credentials, the second step, enrolling a second factor, an app's access decision, sign-out, federation errors. */
export const SIGNIN_EVENTS = ['signin', 'mfa', 'mfa-enrol', 'access', 'signout', 'federation'] as const;
export type SigninEvent = (typeof SIGNIN_EVENTS)[number];
