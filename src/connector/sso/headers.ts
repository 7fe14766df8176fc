/**
 * `sso: headers` — the signed-in user's identity in headers the backend names (user → UPN, email, groups as a
 * comma-separated list) and, with `jwt: true`, the ES256 assertion the edge minted for this request
 * (`x-drawbridge-assertion` on the tunnel stream; the edge holds the key and publishes its JWKS).
 *
 * Whatever the client sent under these header names is removed first: a backend can trust them only because nobody
 * but the connector can set them. (The edge already strips every client `x-drawbridge-*` header.)
 */
import { ASSERTION_HEADER, type Identity, type SsoHeaderNames } from '../../tunnel/protocol.ts';
import type { SsoResult } from '../forward/forwarder.ts';
import { SsoError } from './sso-error.ts';

export type HeadersAppSso = { mode: 'headers'; headers: SsoHeaderNames; jwt?: boolean };

/** Header values are visible ASCII; anything else (accents in group names…) is percent-encoded. */
function headerValue(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : text.replace(/[^\x20-\x7e]/gu, (c) => encodeURIComponent(c));
}

/** The names this app's SSO owns: stripped from every client request, set only by the connector. */
export function ownedHeaders(sso: HeadersAppSso): string[] {
  const names = [sso.headers.user, sso.headers.email, sso.headers.groups]
    .filter((n): n is string => !!n)
    .map((n) => n.toLowerCase());
  if (sso.jwt) names.push((sso.headers.jwt ?? ASSERTION_HEADER).toLowerCase());
  return names;
}

export function headersSso(
  sso: HeadersAppSso,
  identity: Identity | null,
  requestHeaders: Record<string, string | string[] | undefined>,
): SsoResult {
  // Backends that map '-' and '_' alike (CGI, PHP, WSGI, nginx with underscores_in_headers) would also read a client's
  // X_Remote_User as the identity: those spellings go too.
  const owned = ownedHeaders(sso);
  const strip = [
    ...owned,
    ...Object.keys(requestHeaders).filter((name) => name.includes('_') && owned.includes(name.replace(/_/g, '-'))),
  ];
  if (!identity)
    throw new SsoError(
      'DB-SSO-NO-IDENTITY',
      'the request carries no signed-in user (is the app preAuth: passthrough?)',
    );
  const headers: Record<string, string> = {};
  if (sso.headers.user) headers[sso.headers.user.toLowerCase()] = headerValue(identity.upn);
  if (sso.headers.email && identity.email) headers[sso.headers.email.toLowerCase()] = headerValue(identity.email);
  if (sso.headers.groups) headers[sso.headers.groups.toLowerCase()] = headerValue(identity.groups.join(','));
  if (sso.jwt) {
    const assertion = requestHeaders[ASSERTION_HEADER];
    if (typeof assertion !== 'string' || assertion === '') {
      throw new SsoError(
        'DB-SSO-NO-IDENTITY',
        'the edge sent no signed assertion for this request (edge older than the connector?)',
      );
    }
    headers[(sso.headers.jwt ?? ASSERTION_HEADER).toLowerCase()] = assertion;
  }
  return { headers, strip };
}
