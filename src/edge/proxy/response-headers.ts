import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { App } from '../../store/types.ts';
import { setsOurCookie } from '../signin/cookies.ts';

/**
 * Response headers for the client: pseudo-headers and tunnel metadata removed, Set-Cookies for Drawbridge's own
 * cookies dropped (signin/cookies.ts setsOurCookie), and internal URLs in `Location` and
 * `Content-Location` translated to the external URL so redirects from the app keep users on the edge.
 */
export function buildResponseHeaders(streamHeaders: IncomingHttpHeaders, app: App): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in streamHeaders) {
    if (name.charCodeAt(0) === 58 /* ':' */ || name.startsWith('x-drawbridge-')) continue;
    out[name] = streamHeaders[name];
  }
  const setCookie = out['set-cookie'];
  if (setCookie !== undefined) {
    const kept = (Array.isArray(setCookie) ? setCookie : [String(setCookie)]).filter((c) => !setsOurCookie(c));
    if (kept.length > 0) out['set-cookie'] = kept;
    else delete out['set-cookie'];
  }
  translateLocation(out, 'location', app);
  translateLocation(out, 'content-location', app);
  return out;
}

function translateLocation(headers: OutgoingHttpHeaders, name: string, app: App): void {
  const value = headers[name];
  if (typeof value !== 'string') return;
  const translated = translateUrl(value, app);
  if (translated !== value) headers[name] = translated;
}

export function translateUrl(value: string, app: App): string {
  const internal = app.internalUrl.replace(/\/+$/, '');
  if (value === internal || value.startsWith(internal + '/') || value.startsWith(internal + '?')) {
    return app.externalUrl.replace(/\/+$/, '') + (value.slice(internal.length) || '/');
  }
  return value;
}
