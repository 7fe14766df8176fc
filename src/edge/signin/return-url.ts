/**
 * Return URLs are paths on the app's own origin, never full URLs: whatever arrives is reduced to a path and query,
 * and anything that a browser could read as another origin (`//host`, `/\host`, control characters) becomes `/`.
 * The origin is always taken from the app's configured externalUrl, so there is no open redirect to build.
 */
const MAX_RETURN_LENGTH = 2048;

export function safeReturnPath(value: string | null | undefined): string {
  if (!value || value.length > MAX_RETURN_LENGTH) return '/';
  if (value[0] !== '/') return '/';
  if (value.startsWith('//') || value.startsWith('/\\')) return '/';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return '/';
  if (value.startsWith('/.drawbridge/')) return '/';
  try {
    const url = new URL(value, 'https://app.invalid');
    if (url.origin !== 'https://app.invalid') return '/';
    return `${url.pathname}${url.search}`;
  } catch {
    return '/';
  }
}
