/** Field rules every store implementation applies (the admin API checks the same first, with friendlier messages). */
import { isTcpUrl, tcpTargetOf } from '../lib/tcp-target.ts';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import type { AppSso } from '../tunnel/protocol.ts';
import { RDP_DEFAULT_PORT } from '../tunnel/rdp.ts';

/** A DNS-label slug: tenant and app names end up in host names (`<app>-<tenant>.<domain>`). */
export const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function requireSlug(field: string, value: string): string {
  if (!SLUG.test(value)) {
    throw new DrawbridgeError('DB-ADMIN-INVALID', `${field}: use 1–40 lower-case letters, digits and inner hyphens`);
  }
  return value;
}

export function requireName(field: string, value: string): string {
  if (value.trim() === '' || value.length > 100 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw new DrawbridgeError('DB-ADMIN-INVALID', `${field}: 1–100 characters, no control characters`);
  }
  return value;
}

/** Normalises an external URL to `https://host[:port]` and derives its routing key (lower-case host, no port). */
export function parseExternalUrl(value: string): { externalUrl: string; externalHost: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'externalUrl: not a URL');
  }
  if (url.protocol !== 'https:') throw new DrawbridgeError('DB-ADMIN-INVALID', 'externalUrl: must start with https://');
  if (url.username || url.password)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'externalUrl: must not carry credentials');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'externalUrl: must have no path, query or fragment');
  }
  const externalHost = url.hostname.toLowerCase().replace(/\.$/, '');
  if (externalHost === '') throw new DrawbridgeError('DB-ADMIN-INVALID', 'externalUrl: has no host');
  // A wildcard app (`https://*.corp.example.com`) serves every host under the suffix that has no more specific app.
  if (externalHost.includes('*') && !/^\*\.[^*]+\.[^*]+$/.test(externalHost)) {
    throw new DrawbridgeError(
      'DB-ADMIN-INVALID',
      'externalUrl: a wildcard must be the whole first label, over a domain of two labels or more (https://*.corp.example.com)',
    );
  }
  return { externalUrl: url.origin, externalHost };
}

/** `http(s)://host[:port][/base]` without credentials, query or fragment; or `tcp://host:port` for a TCP app. */
export function checkInternalUrl(value: string): string {
  if (isTcpUrl(value)) return checkTcpUrl(value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: not a URL');
  }
  if (url.protocol === 'rdp:') return checkRdpUrl(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: must start with http://, https://, rdp:// or tcp://');
  }
  if (url.username || url.password)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: must not carry credentials');
  if (url.search || url.hash)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: must have no query or fragment');
  return value;
}

/** An app of kind `rdp` (issue 13): `rdp://host[:port]`, the one RDP host it allows, stored with its port. */
function checkRdpUrl(url: URL): string {
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '' && url.pathname !== '/')) {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: rdp://host[:port] with nothing else');
  }
  if (!url.hostname) throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: rdp:// needs a host');
  return `rdp://${url.hostname}:${url.port || RDP_DEFAULT_PORT}`;
}

/** `tcp://host:port`: a port is required (no protocol default), nothing after it. */
function checkTcpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: not a URL');
  }
  if (url.username || url.password)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: must not carry credentials');
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: tcp://host:port takes no path, query or fragment');
  if (!tcpTargetOf(value))
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: tcp://host:port needs a host and a port (1-65535)');
  return value;
}

export const BACKEND_TIMEOUT = { default: 85, long: 180, min: 1, max: 3600 } as const;

export function checkBackendTimeout(value: number): number {
  if (!Number.isInteger(value) || value < BACKEND_TIMEOUT.min || value > BACKEND_TIMEOUT.max) {
    throw new DrawbridgeError(
      'DB-ADMIN-INVALID',
      `backendTimeout: a whole number of seconds from ${BACKEND_TIMEOUT.min} to ${BACKEND_TIMEOUT.max}`,
    );
  }
  return value;
}

const LOGIN_IDENTITIES = ['upn', 'onPremName', 'upnUserPart', 'email'] as const;
/** An HTTP header name a backend may receive: a token, and never one the proxy itself owns. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]{1,64}$/;
const RESERVED_HEADERS = new Set([
  'host',
  'authorization',
  'cookie',
  'connection',
  'content-length',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'proxy-authorization',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'forwarded',
]);

/**
 * Normalises and checks an app's `sso` (docs/sso.md). Kerberos SPNs are `service/host` without port or realm; identity
 * header names are lower-cased HTTP tokens that are not hop-by-hop, forwarding or credential headers.
 */
export function checkSso(value: unknown): AppSso {
  const bad = (why: string): never => {
    throw new DrawbridgeError('DB-ADMIN-INVALID', `sso: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return bad('expected an object with mode none, kerberos or headers');
  const v = value as Record<string, unknown>;
  switch (v.mode) {
    case 'none':
      return { mode: 'none' };
    case 'kerberos': {
      const spn = typeof v.spn === 'string' ? v.spn.trim() : '';
      if (!/^[A-Za-z][A-Za-z0-9-]*\/[A-Za-z0-9.-]+$/.test(spn))
        bad('kerberos needs spn like HTTP/app.corp.example (service/host, no port, no realm)');
      const loginIdentity = v.loginIdentity ?? 'upn';
      if (!LOGIN_IDENTITIES.includes(loginIdentity as (typeof LOGIN_IDENTITIES)[number]))
        bad(`loginIdentity: one of ${LOGIN_IDENTITIES.join(', ')}`);
      return { mode: 'kerberos', spn, loginIdentity: loginIdentity as (typeof LOGIN_IDENTITIES)[number] };
    }
    case 'headers': {
      const h = (v.headers ?? {}) as Record<string, unknown>;
      if (typeof h !== 'object' || h === null) bad('headers: an object with user, email, groups (header names)');
      const headers: Record<string, string> = {};
      for (const key of ['user', 'email', 'groups', 'jwt'] as const) {
        const name = h[key];
        if (name === undefined || name === null || name === '') continue;
        if (
          typeof name !== 'string' ||
          !HEADER_NAME.test(name.toLowerCase()) ||
          RESERVED_HEADERS.has(name.toLowerCase())
        ) {
          bad(
            `headers.${key}: an HTTP header name (letters, digits, hyphens), not a hop-by-hop, forwarding or credential header`,
          );
        }
        headers[key] = (name as string).toLowerCase();
      }
      const jwt = v.jwt === true;
      if (Object.keys(headers).length === 0 && !jwt)
        bad('headers needs at least one of headers.user, headers.email, headers.groups, or jwt: true');
      return { mode: 'headers', headers, ...(jwt ? { jwt: true } : {}) };
    }
    default:
      return bad('mode: none, kerberos or headers');
  }
}

/** Reads the stored JSON back (a damaged value reads as none rather than failing every request). */
export function parseStoredSso(text: string | null | undefined): AppSso {
  if (!text) return { mode: 'none' };
  try {
    return checkSso(JSON.parse(text));
  } catch {
    return { mode: 'none' };
  }
}
