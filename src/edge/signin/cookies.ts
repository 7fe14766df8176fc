/** Cookie parsing and the one way Drawbridge sets its cookies: `__Host-` prefixed, HttpOnly, Secure, Path=/. */

export const CENTRAL_COOKIE = '__Host-drawbridge-login';
/** Browser binding for CSRF tokens before anyone is signed in. */
export const BROWSER_COOKIE = '__Host-drawbridge-browser';
/** Transient flow (OIDC, WebAuthn) binding on the sign-in host. */
export const FLOW_COOKIE = '__Host-drawbridge-flow';
/** On app hosts: the app session. */
export const APP_COOKIE = '__Host-drawbridge-session';
/** On app hosts: binds a sign-in round trip to the browser that started it. */
export const AUTH_COOKIE = '__Host-drawbridge-auth';

export const OUR_COOKIES = [CENTRAL_COOKIE, BROWSER_COOKIE, FLOW_COOKIE, APP_COOKIE, AUTH_COOKIE];

/**
 * The one rule for the name of a pair in a Cookie header, used both to read cookies and to strip ours before a request
 * goes to the backend (the two disagreed: the parser trimmed `__Host-drawbridge-session =…` into the session cookie,
 * the stripper did not recognise it, so it was accepted and forwarded). The name is the text before the first '='
 * (the whole pair when there is none, as lenient backends read it), after the whitespace that follows ';'. Whitespace
 * or a control character in it, or between it and '=', makes it no name (null): such a pair is never read as a cookie,
 * and never forwarded, since a backend could read it as any name, ours included.
 */
export function cookieName(pair: string): string | null {
  const eq = pair.indexOf('=');
  const name = (eq < 0 ? pair : pair.slice(0, eq)).replace(/^[ \t]+/, '');
  return /[\x00-\x20\x7f]/.test(name) ? null : name;
}

export function parseCookies(header: string | string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  const text = Array.isArray(header) ? header.join('; ') : header;
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    const name = cookieName(part);
    if (eq < 0 || !name) continue;
    // The first occurrence wins (the most specific path), and it cannot be shadowed by a later duplicate.
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

export interface CookieOptions {
  /** Seconds; omitted = session cookie; 0 = delete. */
  maxAge?: number;
  /** Lax by default; None only for an app that asks for it (cross-site embedding), always with Secure. */
  sameSite?: 'Lax' | 'Strict' | 'None';
}

export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  let cookie = `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=${options.sameSite ?? 'Lax'}`;
  if (options.maxAge !== undefined) cookie += `; Max-Age=${Math.max(0, Math.floor(options.maxAge))}`;
  return cookie;
}

export function clearCookie(name: string): string {
  return serializeCookie(name, '', { maxAge: 0 });
}

/**
 * Removes Drawbridge's own cookies from a request before it goes to the backend, and every pair `cookieName` cannot
 * name. Returns the new header or undefined.
 */
export function stripOurCookies(header: string | undefined): string | undefined {
  if (!header) return header;
  const kept = header
    .split(';')
    .map((p) => p.trim())
    .filter((p) => {
      if (!p) return false;
      const name = cookieName(p);
      return name !== null && !OUR_COOKIES.includes(name);
    });
  return kept.length ? kept.join('; ') : undefined;
}

/**
 * A backend's Set-Cookie that would set one of Drawbridge's cookies (by the same name rule), or one `cookieName`
 * cannot name. The edge drops these from responses: an internal app must not overwrite or fix a user's session on
 * its host.
 */
export function setsOurCookie(setCookie: string): boolean {
  const name = cookieName(setCookie.split(';', 1)[0]);
  return name === null || OUR_COOKIES.includes(name);
}
