import type { IncomingMessage } from 'node:http';
import type { ErrorCode } from '../../errors/catalogue.ts';

/**
 * What the edge refuses in a parsed request head before anything else looks at it, for plain requests and upgrades
 * alike: more header fields than limits.maxHeaderCount (Node keeps one over the limit so it shows: the tunnel carries
 * more, so the edge is where the limit holds), and anything but exactly one Host (RFC 9112 §3.2; Node keeps the
 * first of several, so the raw list is counted). HTTP/2's pseudo-headers do not count; its :authority is the Host
 * (proxy/http2.ts).
 */
export function requestHeadProblem(req: IncomingMessage, maxHeaderCount: number): ErrorCode | null {
  const raw = req.rawHeaders;
  // HTTP/2 clients split Cookie into one field per cookie (RFC 9113 §8.2.3) where HTTP/1.1 sends one line.
  const cookieCrumbs = req.httpVersionMajor === 2;
  let fields = 0;
  let hosts = 0;
  let cookies = 0;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].charCodeAt(0) === 58 /* ':' */) continue; // HTTP/2 pseudo-headers are the request line, not fields
    if (cookieCrumbs && raw[i] === 'cookie' && ++cookies > 1) continue;
    fields++;
    if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') hosts++;
  }
  if (fields > maxHeaderCount) return 'DB-HTTP-HEADERS-TOO-LARGE';
  if (req.headers.host === undefined || hosts > 1) return 'DB-HTTP-HOST-INVALID';
  return null;
}
