/**
 * Who the edge says is signed in, as a backend behind Drawbridge should decide it: from the ES256 assertion the edge
 * signs for header SSO (`x-drawbridge-assertion`, docs/sso.md), verified against the edge's published JWKS, issuer
 * and this app's external URL as audience. Never from a plain header such as X-Remote-User: on a passthrough app a
 * client can send any header it likes, and nothing strips it.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createRemoteJWKSet, customFetch, jwtVerify, type FetchImplementation } from 'jose';
import { Agent, fetch } from 'undici';

export const ASSERTION_HEADER = 'x-drawbridge-assertion';

export interface AssertionOptions {
  /** The edge's JWKS, e.g. https://login.apps.localhost:8443/.well-known/jwks.json; its origin is the issuer. */
  jwksUrl: string;
  /** This app's external URL, the assertion's audience. */
  audience: string;
  /** CA that signed the edge's certificate (the dev CA), when not a public one. */
  caFile?: string;
  /** Dial this address for every host (the dev hosts under *.localhost do not resolve through the system). */
  resolveTo?: string;
}

export interface SignedInUser {
  upn: string;
  groups: string[];
}

/** null: nobody is vouched for (no assertion, or no way to check one); `{ error }`: an assertion that did not verify. */
export type UserCheck = (req: IncomingMessage) => Promise<SignedInUser | { error: string } | null>;

export function signedInUserCheck(options: AssertionOptions | undefined): UserCheck {
  if (!options) return async () => null;
  const issuer = new URL(options.jwksUrl).origin;
  const resolveTo = options.resolveTo;
  const dispatcher = new Agent({
    connect: {
      ca: options.caFile ? readFileSync(options.caFile, 'utf8') : undefined,
      ...(resolveTo
        ? {
            lookup: (_host: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) =>
              opts?.all
                ? cb(null, [{ address: resolveTo, family: resolveTo.includes(':') ? 6 : 4 }])
                : cb(null, resolveTo, resolveTo.includes(':') ? 6 : 4),
          }
        : {}),
    } as never,
  });
  const fetchJwks: FetchImplementation = (url, init) =>
    fetch(url, { ...init, dispatcher } as never) as unknown as Promise<Response>;
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), { [customFetch]: fetchJwks });
  return async (req) => {
    const token = req.headers[ASSERTION_HEADER];
    if (typeof token !== 'string' || token === '') return null;
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer, audience: options.audience, algorithms: ['ES256'] });
      if (typeof payload.upn !== 'string') return { error: 'the assertion names no user (upn)' };
      const groups = Array.isArray(payload.groups)
        ? payload.groups.filter((g): g is string => typeof g === 'string')
        : [];
      return { upn: payload.upn, groups };
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) };
    }
  };
}
