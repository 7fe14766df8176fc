/**
 * The one catalogue of Drawbridge error codes. Every failure a user or an administrator can meet has an entry here,
 * and `docs/errors.md` documents each (a test keeps the two in step). Codes are never reused once retired.
 *
 * - `status`: the HTTP status shown to the client.
 * - `title`:  one line for the page heading / CLI.
 * - `user`:   what the person in front of the browser should do.
 * - `admin`:  what the administrator should check (shown on pages only to admins via the correlation id and logs).
 */
export interface ErrorSpec {
  readonly status: number;
  readonly title: string;
  readonly user: string;
  readonly admin: string;
}

export const catalogue = {
  // --- routing at the edge ---
  'DB-ROUTE-UNKNOWN-HOST': {
    status: 404,
    title: 'No application is published at this address',
    user: 'Check the address you typed or the link you followed. If it came from your organisation, tell your help desk.',
    admin: 'No app has this external URL. Compare the Host header in the log with the externalUrl of your apps (drawbridge admin apps list).',
  },
  'DB-ROUTE-APP-DISABLED': {
    status: 503,
    title: 'This application is switched off',
    user: 'The application has been switched off by your organisation. Try again later or ask your help desk.',
    admin: 'The app is disabled. Enable it with drawbridge admin apps update --enabled true.',
  },
  // --- HTTP hygiene at the edge ---
  'DB-HTTP-BAD-REQUEST': {
    status: 400,
    title: 'The request was malformed',
    user: 'Your browser sent a request the proxy could not read. Reload the page; if it persists, clear the site data.',
    admin: 'The edge refused a request that does not parse as strict HTTP/1.1 (see the log line for the parser error).',
  },
  'DB-HTTP-HEADERS-TOO-LARGE': {
    status: 431,
    title: 'The request headers are too large',
    user: 'Your browser sent too much header data, often too many cookies. Clear the cookies for this site and retry.',
    admin: 'The request headers exceeded the edge limit (limits.maxHeaderBytes).',
  },
  'DB-HTTP-TIMEOUT': {
    status: 408,
    title: 'The request took too long to arrive',
    user: 'Your connection was too slow or stalled. Try again.',
    admin: 'The client did not send its request headers within limits.headersTimeout.',
  },
  // --- tunnel and connectors ---
  'DB-TUNNEL-NO-CONNECTOR': {
    status: 502,
    title: 'The application cannot be reached right now',
    user: 'The connection to your organisation\'s network is down. Try again in a minute; if it persists, tell your help desk.',
    admin: 'No connector of the app\'s connector group has a live tunnel. Check drawbridge admin connectors list and the connector hosts (service running, outbound TCP to the edge port allowed).',
  },
  'DB-TUNNEL-STREAM-FAILED': {
    status: 502,
    title: 'The connection to the application was interrupted',
    user: 'The request was interrupted on its way to the application. Try again.',
    admin: 'The tunnel stream failed mid-request (connector lost or restarted). The request was not idempotent or had already sent its body, so it was not retried.',
  },
  'DB-TUNNEL-CERT-REFUSED': {
    status: 403,
    title: 'The connector certificate was refused',
    user: 'This is a connector-side error.',
    admin: 'The connector presented a certificate that is unknown, expired or belongs to a disabled connector. Re-register it with a new enrollment token, or enable it.',
  },
  'DB-CONNECTOR-TARGET-REFUSED': {
    status: 403,
    title: 'The connector refused this target',
    user: 'The application cannot be reached through this connector. Tell your help desk.',
    admin: 'A connector was asked for an app that is not published on its connector group; connectors never act as open proxies. Check the app\'s connector group.',
  },
  'DB-CONNECTOR-CONFIG-STALE': {
    status: 503,
    title: 'The connector is updating its configuration',
    user: 'The application is being updated. Try again in a few seconds.',
    admin: 'The connector has not yet received the configuration version the edge routed with.',
  },
  // --- enrollment ---
  'DB-ENROLL-TOKEN-INVALID': {
    status: 401,
    title: 'The enrollment token is not valid',
    user: 'Ask your administrator for a new enrollment token.',
    admin: 'The token is unknown, malformed, already used or expired. Tokens are one-time: create a new one with drawbridge admin enrollment-tokens create.',
  },
  'DB-ENROLL-CSR-INVALID': {
    status: 400,
    title: 'The certificate request is not valid',
    user: 'Run drawbridge connector register again.',
    admin: 'The connector sent a CSR that does not parse or whose signature does not verify.',
  },
  // --- backends ---
  'DB-BACKEND-TIMEOUT': {
    status: 504,
    title: 'The application took too long to answer',
    user: 'The application is slow or busy right now. Try again in a moment.',
    admin: 'The backend did not answer within the app\'s backendTimeout (default 85 s, long 180 s). Check the internal app, or set backendTimeout: long.',
  },
  'DB-BACKEND-UNREACHABLE': {
    status: 502,
    title: 'The application is not answering',
    user: 'The application is down or unreachable from your organisation\'s network. Try again later.',
    admin: 'The connector could not connect to the internal URL (refused, reset or DNS failure). Check the app is running and reachable from the connector host.',
  },
  'DB-BACKEND-TLS': {
    status: 502,
    title: 'The application\'s certificate is not trusted',
    user: 'The application cannot be reached securely. Tell your help desk.',
    admin: 'The backend TLS certificate failed validation from the connector. Install the right certificate, set the app\'s backendCa, or (last resort) tlsVerify: false.',
  },
  'DB-BACKEND-PROTOCOL': {
    status: 502,
    title: 'The application sent an invalid response',
    user: 'The application answered in a way the proxy cannot pass on. Try again later.',
    admin: 'The backend response did not parse as HTTP (see the connector log).',
  },
  // --- admin API and configuration ---
  'DB-ADMIN-UNAUTHORIZED': {
    status: 401,
    title: 'Admin API token missing or wrong',
    user: 'Send Authorization: Bearer <admin token>.',
    admin: 'The admin token is in the edge configuration (admin.token or admin.tokenFile).',
  },
  'DB-ADMIN-NOT-FOUND': {
    status: 404,
    title: 'No such object',
    user: 'Check the id in the URL.',
    admin: 'The object does not exist in this tenant.',
  },
  'DB-ADMIN-CONFLICT': {
    status: 409,
    title: 'The object conflicts with an existing one',
    user: 'Choose another name or external URL.',
    admin: 'Names are unique per tenant and external URLs are unique across the edge.',
  },
  'DB-ADMIN-INVALID': {
    status: 400,
    title: 'The request body is not valid',
    user: 'Fix the fields named in the message.',
    admin: 'The admin API validates every field against the schema in /api/v1/openapi.json.',
  },
  'DB-CONFIG-INVALID': {
    status: 500,
    title: 'The configuration is not valid',
    user: 'Fix the configuration fields named in the message.',
    admin: 'Every option is described in docs/configuration.md.',
  },
  'DB-INTERNAL': {
    status: 500,
    title: 'Something went wrong on our side',
    user: 'Try again. If it keeps happening, tell your help desk and quote the correlation id.',
    admin: 'An unexpected error; the log line with this correlation id has the stack.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof catalogue;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(catalogue, value);
}
