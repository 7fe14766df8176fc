import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { App } from '../../store/types.ts';
import { hstsHeader } from '../../store/app-web.ts';
import { setsOurCookie } from '../signin/cookies.ts';
import { LinkTranslator, translateResponseHeaders } from './link-translation.ts';

/**
 * Response headers for the client: pseudo-headers and tunnel metadata removed, Set-Cookies for Drawbridge's own
 * cookies dropped (signin/cookies.ts setsOurCookie), and — unless the app turned header translation off — internal
 * URLs of the tenant's apps in Location, Content-Location, Refresh and Link translated to their external URLs, and
 * Set-Cookie's Domain and Path fitted to the external host (link-translation.ts), so redirects and links from the
 * app keep users on the edge. An app with HSTS gets its header here, over any the backend sent.
 */
export function buildResponseHeaders(
  streamHeaders: IncomingHttpHeaders,
  app: App,
  links: LinkTranslator = new LinkTranslator([app]),
): OutgoingHttpHeaders {
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
  if (app.linkTranslation.headers) translateResponseHeaders(out, app, links);
  const hsts = hstsHeader(app.hsts);
  if (hsts !== null) out['strict-transport-security'] = hsts;
  return out;
}
