/**
 * The only request targets Drawbridge forwards: origin-form paths (RFC 9112 §3.2.1) without dot segments. `*` and
 * absolute-form have no meaning for a published app, and `..` (also as %2e%2e, or with \\ as separator, which IIS
 * accepts) would climb out of an app's internal base path to unpublished paths on the same backend host.
 * Both the edge (first) and the connector (never trusting its input) apply this.
 */
export function isForwardablePath(target: string): boolean {
  if (target.length === 0 || target.charCodeAt(0) !== 47 /* '/' */) return false;
  const end = target.search(/[?#]/);
  const path = end < 0 ? target : target.slice(0, end);
  if (!path.includes('.') && !/%2e/i.test(path)) return true; // the common case: nothing to look at
  for (const segment of path.split(/[/\\]/)) {
    const decoded = segment.replace(/%2e/gi, '.');
    if (decoded === '.' || decoded === '..') return false;
  }
  return true;
}
