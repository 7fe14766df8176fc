/** Field rules every store implementation applies (the admin API checks the same first, with friendlier messages). */
import { DrawbridgeError } from '../errors/drawbridge-error.ts';

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
  if (url.username || url.password) throw new DrawbridgeError('DB-ADMIN-INVALID', 'externalUrl: must not carry credentials');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'externalUrl: must have no path, query or fragment');
  }
  const externalHost = url.hostname.toLowerCase().replace(/\.$/, '');
  if (externalHost === '') throw new DrawbridgeError('DB-ADMIN-INVALID', 'externalUrl: has no host');
  return { externalUrl: url.origin, externalHost };
}

/** `http(s)://host[:port][/base]` without credentials, query or fragment. */
export function checkInternalUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: must start with http:// or https://');
  }
  if (url.username || url.password) throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: must not carry credentials');
  if (url.search || url.hash) throw new DrawbridgeError('DB-ADMIN-INVALID', 'internalUrl: must have no query or fragment');
  return value;
}

export const BACKEND_TIMEOUT = { default: 85, long: 180, min: 1, max: 3600 } as const;

export function checkBackendTimeout(value: number): number {
  if (!Number.isInteger(value) || value < BACKEND_TIMEOUT.min || value > BACKEND_TIMEOUT.max) {
    throw new DrawbridgeError('DB-ADMIN-INVALID', `backendTimeout: a whole number of seconds from ${BACKEND_TIMEOUT.min} to ${BACKEND_TIMEOUT.max}`);
  }
  return value;
}
