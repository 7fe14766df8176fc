/**
 * What a load client talks to: a base URL plus how to reach it.
 *
 * Drawbridge's app hosts (`bench-contoso.apps.localhost`) are not in any resolver. Each client is told the address
 * its own way, so that it still sends the app's name as Host and as TLS SNI: wrk through a private /etc/hosts
 * (see names.ts), curl with `--resolve`, Node clients by connecting to the address with `servername` set.
 */
import { isIP } from 'node:net';

export interface Target {
  /** e.g. `http://127.0.0.1:8080` or `https://bench-contoso.apps.localhost:8443` (no trailing slash). */
  base: string;
  /** Extra request headers (the pre-authenticated row's session cookie). */
  headers: Record<string, string>;
  /** Where the URL's host really is (loopback). */
  address: string;
}

export function target(base: string, headers: Record<string, string> = {}): Target {
  return { base: base.replace(/\/$/, ''), headers, address: '127.0.0.1' };
}

export function hostname(t: Target): string {
  return new URL(t.base).hostname;
}

export function port(t: Target): number {
  const url = new URL(t.base);
  return Number(url.port || (url.protocol === 'https:' ? 443 : 80));
}

export function isTls(t: Target): boolean {
  return new URL(t.base).protocol === 'https:';
}

/** True when the host must be mapped to `address` for clients that resolve it themselves. */
export function needsName(t: Target): boolean {
  const host = hostname(t);
  return isIP(host) === 0 && host !== 'localhost';
}
