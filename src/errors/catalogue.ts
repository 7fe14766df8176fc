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
    admin:
      'No app has this external URL. Compare the Host header in the log with the externalUrl of your apps (drawbridge admin apps list).',
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
    admin:
      'The client did not send its request headers within limits.headersTimeoutMs (a connection that never sends a request gets the same answer), or its request body stalled for limits.bodyIdleTimeoutMs: the request was aborted and the backend saw it aborted.',
  },
  'DB-HTTP-TOO-MANY-REQUESTS': {
    status: 429,
    title: 'Too many requests at once from your network',
    user: 'Your network has too many requests in progress. Wait a few seconds and try again.',
    admin:
      'One client address (an IPv6 /64) had limits.maxRequestsPerClient requests in progress at the edge. Raise it if many users share one address (a large NAT); otherwise one client is holding requests open (slow uploads or downloads).',
  },
  'DB-HTTP-RESET-FLOOD': {
    status: 429,
    title: 'Too many cancelled requests',
    user: 'Your client opened and cancelled requests faster than the service allows, so its connection was closed. Reload the page; if it keeps happening, update or change the client.',
    admin:
      'An HTTP/2 client reset streams faster than the edge allows (rapid reset, CVE-2023-44487): the edge sent GOAWAY (ENHANCE_YOUR_CALM) and closed that connection; other clients are unaffected. The log line names the client address.',
  },
  'DB-HTTP-TOO-MANY-CONNECTIONS': {
    status: 503,
    title: 'Too many connections from your network',
    user: 'Your network has too many connections open to this service. Close some tabs or applications, wait a moment and try again.',
    admin:
      'One client address (an IPv6 /64) held limits.maxConnectionsPerClient connections to the edge; the extra connection was answered once and closed (past twice the limit, closed unanswered). Raise the limit if many users share one address.',
  },
  // --- PROXY protocol from a load balancer in front of the edge ---
  'DB-PROXY-HEADER-REFUSED': {
    status: 400,
    title: 'The connection was refused',
    user: 'Your connection could not be accepted. Connect to the service by its published address.',
    admin:
      'A connection to the public port began with a PROXY protocol header but came from an address not in listen.trustedProxies; it was closed, since anyone could claim any client address that way. If this is your load balancer, add its address (as the edge sees it) to listen.trustedProxies.',
  },
  'DB-PROXY-HEADER-MISSING': {
    status: 400,
    title: 'The connection was refused',
    user: 'Your connection could not be accepted. Try again; if it keeps failing, tell your help desk.',
    admin:
      "A connection from an address in listen.trustedProxies did not start with a PROXY protocol header, so the client address is unknown; it was closed. Set send-proxy-v2 on the load balancer's server lines (health checks too), or take the address out of listen.trustedProxies.",
  },
  'DB-PROXY-HEADER-INVALID': {
    status: 400,
    title: 'The connection was refused',
    user: 'Your connection could not be accepted. Try again; if it keeps failing, tell your help desk.',
    admin:
      "A connection to the public port began with a malformed PROXY protocol header (the log line gives the reason: only TCP over IPv4 or IPv6, v1 or v2, up to 1 KiB). It was closed. Check the load balancer's send-proxy settings.",
  },
  // --- tunnel and connectors ---
  'DB-TUNNEL-NO-CONNECTOR': {
    status: 502,
    title: 'The application cannot be reached right now',
    user: "The connection to your organisation's network is down. Try again in a minute; if it persists, tell your help desk.",
    admin:
      "No connector of the app's connector group has a live tunnel. Check drawbridge admin connectors list and the connector hosts (service running, outbound TCP to the edge port allowed).",
  },
  'DB-TUNNEL-STREAM-FAILED': {
    status: 502,
    title: 'The connection to the application was interrupted',
    user: 'The request was interrupted on its way to the application. Try again.',
    admin:
      'The tunnel stream failed mid-request (connector lost or restarted). The request was not idempotent, or had sent more of its body than the edge keeps to send again (docs/architecture.md, "One request, step by step", step 6), so it was not retried.',
  },
  'DB-TUNNEL-CERT-REFUSED': {
    status: 403,
    title: 'The connector certificate was refused',
    user: 'This is a connector-side error.',
    admin:
      'The connector presented a certificate that is unknown, expired or belongs to a disabled connector. Re-register it with a new enrollment token, or enable it.',
  },
  'DB-TUNNEL-RELAY-REFUSED': {
    status: 403,
    title: 'The edge node certificate was refused',
    user: 'This is an edge-side error.',
    admin:
      "A connection to the relay between edge nodes (ALPN drawbridge-relay/1 on the public port) presented no certificate of the shared tunnel CA, or one that is not an edge node's (a connector certificate, say), or the node dialled answered as another node. Every node of a cluster must share the tunnel CA (the tunnel-ca directory or the store), and cluster.advertise must reach the node it names.",
  },
  'DB-CONNECTOR-TARGET-REFUSED': {
    status: 403,
    title: 'The connector refused this target',
    user: 'The application cannot be reached through this connector. Tell your help desk.',
    admin:
      "A connector was asked for an app that is not published on its connector group; connectors never act as open proxies. Check the app's connector group.",
  },
  'DB-HTTP-BAD-TARGET': {
    status: 400,
    title: 'The requested path is not allowed',
    user: 'The address contains a path the proxy does not forward. Check the link you followed.',
    admin:
      'The request target was not a plain path (absolute-form, "*", or dot segments such as /../ that would leave the app\'s internal base path). The edge and the connector both refuse it.',
  },
  'DB-HTTP-URI-TOO-LONG': {
    status: 414,
    title: 'The address is too long',
    user: 'The link you followed is longer than the proxy accepts. Check where it came from.',
    admin: "The request line alone exceeded the edge's header limit (limits.maxHeaderBytes).",
  },
  'DB-HTTP-HOST-INVALID': {
    status: 400,
    title: 'The request did not name one host',
    user: 'Your client sent a request without a Host header, or with more than one. Use an up-to-date browser or client.',
    admin: 'RFC 9112 §3.2 requires exactly one Host header; the edge refuses requests with none or several.',
  },
  'DB-HTTP-METHOD-NOT-SUPPORTED': {
    status: 405,
    title: 'This request method is not accepted here',
    user: 'The proxy does not accept this kind of request (for example CONNECT). Use the address of the application directly.',
    admin: 'The edge is not a forward proxy: CONNECT and similar methods are refused on every host.',
  },
  'DB-HTTP-EXTENSION-METHOD-PIPELINED': {
    status: 400,
    title: 'The request method cannot be carried on this connection',
    user: 'Your client sent a non-standard request method behind other requests on the same connection. Retry it on a new connection.',
    admin:
      "Extension methods (such as RD Gateway's RDG_OUT_DATA) are carried only at a message boundary the edge has seen: as the first request of a connection or after earlier requests completed and were answered. A client that pipelines one behind a request whose body is still arriving, or whose answer is still owed, is refused, so no byte is framed twice and answers never come out of order. A method that is no valid token is refused as DB-HTTP-BAD-REQUEST.",
  },
  'DB-HTTP-EXPECTATION-FAILED': {
    status: 417,
    title: "The request's expectation cannot be met",
    user: 'Your client asked for something the proxy does not support (an Expect header other than 100-continue). Retry without it.',
    admin: 'Only Expect: 100-continue is supported; the edge answers it itself and never forwards Expect to backends.',
  },
  'DB-CONNECTOR-REQUEST-INVALID': {
    status: 502,
    title: 'The request could not be passed on to the application',
    user: 'Something in your request cannot be sent on to the application. Try again without unusual headers; if it persists, tell your help desk with the correlation id.',
    admin:
      "The connector's HTTP client refused to send the request to the backend (an argument it does not accept, named in the connector log and the detail). Nothing reached the backend; the backend is not down.",
  },
  'DB-CONNECTOR-NOT-CONNECTED': {
    status: 409,
    title: 'The connector is not connected',
    user: 'This is a connector-side error.',
    admin:
      "The action runs over the connector's tunnel (certificate renewal, restart, test connection: a connector of the app's group with a tunnel to this edge node): start the connector (drawbridge connector run) or check its outbound connection to the edge, then try again.",
  },
  'DB-CONNECTOR-RENEWAL-FAILED': {
    status: 502,
    title: 'The connector certificate could not be renewed',
    user: 'This is a connector-side error.',
    admin:
      'The connector did not complete the renewal over its tunnel (an older connector version, or the tunnel dropped mid-way). Its current certificate stays valid and the edge tries again each hour; the edge and connector logs carry the reason.',
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
    admin:
      'The token is unknown, malformed, already used or expired. Tokens are one-time: create a new one with drawbridge admin enrollment-tokens create.',
  },
  'DB-ENROLL-CSR-INVALID': {
    status: 400,
    title: 'The certificate request is not valid',
    user: 'Run drawbridge connector register again.',
    admin: 'The connector sent a CSR that does not parse or whose signature does not verify.',
  },
  'DB-ENROLL-REQUEST-INVALID': {
    status: 400,
    title: 'The enrollment request is not valid',
    user: 'Run drawbridge connector register again with a current connector version.',
    admin:
      'The enrollment body is not JSON or lacks a field (token, csr; name, hostname and version are short strings). The message names the field.',
  },
  'DB-ENROLL-METHOD-NOT-ALLOWED': {
    status: 405,
    title: 'Enrollment accepts only POST',
    user: 'Use drawbridge connector register; the enrollment address is not a web page.',
    admin: 'Something other than the connector sent a non-POST request to the enrollment path.',
  },
  'DB-ENROLL-BODY-TOO-LARGE': {
    status: 413,
    title: 'The enrollment request is too large',
    user: 'Run drawbridge connector register again; if it persists, report it.',
    admin: 'The enrollment body exceeded 64 KiB. A genuine request is about 1 KiB.',
  },
  'DB-ENROLL-EDGE-UNREACHABLE': {
    status: 502,
    title: 'The edge could not be reached for enrollment',
    user: 'Check the --edge URL, outbound HTTPS (TCP 443) from this host, and the CA given with --ca-file.',
    admin:
      'The connector could not connect to the edge, its TLS certificate was not trusted, or the edge answered something other than an enrollment response. The message has the network or TLS error.',
  },
  'DB-ENROLL-ALREADY-REGISTERED': {
    status: 409,
    title: 'This connector is already registered',
    user: 'The state directory already holds a registration. Use --force to replace it, or another --state-dir.',
    admin:
      'Replacing a registration does not delete the old connector on the edge: remove it with drawbridge admin connectors delete.',
  },
  'DB-CONNECTOR-STATE-INVALID': {
    status: 500,
    title: 'The connector is not registered or its state is damaged',
    user: 'Run drawbridge connector register with a new enrollment token.',
    admin:
      'A file of the connector state directory is missing, unreadable, too open (keys must be 0600) or inconsistent (certificate does not match the key, or expired). The message names the file and the fix.',
  },
  // --- backends ---
  'DB-BACKEND-TIMEOUT': {
    status: 504,
    title: 'The application took too long to answer',
    user: 'The application is slow or busy right now. Try again in a moment.',
    admin:
      "The backend did not answer within the app's backendTimeout (default 85 s, long 180 s). Check the internal app, or set backendTimeout: long.",
  },
  'DB-BACKEND-UNREACHABLE': {
    status: 502,
    title: 'The application is not answering',
    user: "The application is down or unreachable from your organisation's network. Try again later.",
    admin:
      'The connector could not connect to the internal URL (refused, reset or DNS failure). Check the app is running and reachable from the connector host.',
  },
  'DB-BACKEND-TLS': {
    status: 502,
    title: "The application's certificate is not trusted",
    user: 'The application cannot be reached securely. Tell your help desk.',
    admin:
      "The backend TLS certificate failed validation from the connector. Install the right certificate, set the app's backendCa, or (last resort) tlsVerify: false.",
  },
  'DB-BACKEND-PROTOCOL': {
    status: 502,
    title: 'The application sent an invalid response',
    user: 'The application answered in a way the proxy cannot pass on. Try again later.',
    admin: 'The backend response did not parse as HTTP (see the connector log).',
  },
  'DB-BACKEND-CLIENT-SHARE': {
    status: 429,
    title: 'Too many requests to this application from your network',
    user: 'Your network already has many requests in progress to this application. Wait a few seconds and try again.',
    admin:
      "The connector lets one client address (an IPv6 /64) hold a quarter of an app backend's connections (64 of 256 per connector), more only while the pool is lightly used and never over half; beyond that its requests wait for its own slots (up to 128 waiting), so slow uploads or downloads from one client cannot take the app from everyone else. The connector log names the app and client.",
  },
  // --- admin API and configuration ---
  'DB-ADMIN-UNAUTHORIZED': {
    status: 401,
    title: 'Admin API token missing or wrong',
    user: 'Send Authorization: Bearer <admin token>.',
    admin:
      "The bootstrap token is in the edge configuration (admin.token or admin.tokenFile); administrators' own tokens come from drawbridge admin tokens create.",
  },
  'DB-ADMIN-TOKEN-EXPIRED': {
    status: 401,
    title: 'Admin API token expired or revoked',
    user: 'Ask an administrator for a new token (drawbridge admin tokens create).',
    admin:
      'The token was revoked, or its expiry has passed; the detail says which and when. Create a new one with drawbridge admin tokens create.',
  },
  'DB-ADMIN-FORBIDDEN': {
    status: 403,
    title: 'Your admin role does not allow this',
    user: 'The detail names your role and the action it may not perform; ask an administrator with a role that may.',
    admin:
      'Roles: global-admin (everything), tenant-admin (everything in its tenant), app-admin (its apps, their assignments and sign-in log), security-reader (sign-in log, reports, policies, audit: read only), connector-operator (connectors, connector groups, enrollment tokens). See docs/admin-roles.md.',
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
  'DB-ADMIN-FILE-INVALID': {
    status: 400,
    title: 'The tenant file is not valid',
    user: 'Fix the lines and fields listed under the message, then run drawbridge admin apply again. Nothing was changed.',
    admin:
      'drawbridge admin apply checks the whole tenant file before it changes anything: YAML syntax, known sections and fields, value types, names used once, and that every name it refers to (users by UPN, groups, apps, connector groups, named locations) is in the file or already in the tenant and not pruned (docs/declarative.md).',
  },
  'DB-ADMIN-BODY-TOO-LARGE': {
    status: 413,
    title: 'The request body is too large',
    user: 'Send a smaller body: no admin API request needs more than 1 MiB.',
    admin:
      'The admin API refuses bodies over 1 MiB, counted as they arrive (declared or chunked). The log line names the request.',
  },
  'DB-ACME-ORDER-FAILED': {
    status: 502,
    title: 'The ACME server did not issue a certificate for an app',
    user: 'Nothing to do: the edge keeps serving the certificate it had and tries again.',
    admin:
      "The log line names the app and the ACME server's answer. TLS-ALPN-01 needs the app's host to resolve to the edge and port 443 to reach the edge's public port without a TLS-terminating proxy in between; the edge retries at every acme.checkIntervalSeconds. Until then the app gets the edge's own certificate.",
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
  // --- identity: sign-in, sessions, MFA (edge/signin) ---
  'DB-SIGNIN-BAD-CREDENTIALS': {
    status: 401,
    title: 'The user name or password is not right',
    user: 'Check your user name and password and try again. After several failed attempts the account is locked for a while.',
    admin:
      'The password did not match, the user does not exist, or the user has no password (federated users sign in with their provider). The sign-in log has the attempt with the client IP.',
  },
  'DB-SIGNIN-LOCKED-OUT': {
    status: 403,
    title: 'This account is locked for a while',
    user: 'Too many wrong passwords were tried for this account. Wait for the time shown and try again, or ask your help desk to unlock it.',
    admin:
      'Five failures in a row locked sign-in for 60 s (attempts during the lock neither count nor lengthen it). Failures from networks the user has signed in from before are counted apart from all others, so a lock caused elsewhere does not stop the user at their usual place; names that do not exist lock the same way. The sign-in log has each attempt with its client IP and whether its network was familiar. Unlock it with POST /api/v1/tenants/{tenant}/users/{id}/unlock (or reset its password).',
  },
  'DB-SIGNIN-RATE-LIMITED': {
    status: 429,
    title: 'Too many sign-in attempts',
    user: 'Too many sign-in attempts came from your network or for this account. Wait a minute and try again.',
    admin:
      'The per-IP or per-account sign-in rate limit was reached. Many attempts from one address usually mean password guessing; see the sign-in log filtered by client IP.',
  },
  'DB-SIGNIN-CSRF': {
    status: 403,
    title: 'The form expired',
    user: 'The sign-in form was too old or was not sent from this site. Go back, reload the page and try again.',
    admin:
      'A form was posted without a valid CSRF token bound to the browser (stale page, blocked cookies, or a cross-site forgery attempt).',
  },
  'DB-SIGNIN-STATE-INVALID': {
    status: 400,
    title: 'The sign-in link is not valid',
    user: 'The sign-in link was changed, expired or was already used. Open the application again from its usual address.',
    admin:
      'The signed sign-in state, one-time code or its browser binding cookie failed verification (tampered, expired after 10 minutes, replayed, or cookies blocked).',
  },
  'DB-SIGNIN-MFA-REQUIRED': {
    status: 401,
    title: 'A second sign-in step is required',
    user: 'Your organisation requires a second step (an authenticator code or a passkey). Finish it to continue.',
    admin:
      'The tenant requires MFA (or the user enrolled a method) and the password step alone is not enough. The user is asked to enrol when no method exists.',
  },
  'DB-SIGNIN-MFA-FAILED': {
    status: 401,
    title: 'The verification code is not right',
    user: "Enter the current 6-digit code from your authenticator app (check your phone's clock), or one of your recovery codes.",
    admin:
      "The TOTP code, recovery code or passkey assertion did not verify. Repeated failures count towards the account lockout. Reset the user's MFA with DELETE /api/v1/tenants/{tenant}/users/{id}/mfa.",
  },
  'DB-SIGNIN-PASSKEY-FAILED': {
    status: 401,
    title: 'The passkey could not be verified',
    user: 'Try the passkey again, make sure it is the one you registered for this organisation, or sign in another way (password, verification code).',
    admin:
      "A WebAuthn ceremony failed: unknown or another user's credential, expired or replayed challenge, wrong origin or RP id, no user verification, or a signature counter that did not grow (a cloned authenticator). The sign-in log entry has the reason.",
  },
  'DB-SESSION-EXPIRED': {
    status: 401,
    title: 'Your session has ended',
    user: 'You were signed out (after a period of inactivity, the maximum session time, or by your administrator). Sign in again.',
    admin:
      'The app session cookie was missing, tampered, expired (idle or absolute), revoked by an admin, or belongs to another application.',
  },
  'DB-SESSION-REVOKED': {
    status: 401,
    title: 'Your session was ended by your organisation',
    user: 'Your administrator ended your session (your account was changed, disabled, or its password reset). Sign in again; if you cannot, contact your help desk.',
    admin:
      "The user's sessions were revoked (POST /api/v1/tenants/{tenant}/users/{id}/revoke-sessions, disabling the user, a password reset or deleting the user). Continuous access evaluation closed their open connections (WebSockets with close code 1008) on every edge node.",
  },
  'DB-SESSION-SIGNED-OUT': {
    status: 401,
    title: 'You signed out',
    user: "You signed out of your organisation's applications (perhaps in another window). Sign in again to continue.",
    admin:
      'The central session that opened this app session was ended by sign-out; its app sessions and open connections (WebSockets with close code 1008) ended with it on every edge node.',
  },
  'DB-SIGNIN-TENANT-UNKNOWN': {
    status: 404,
    title: 'No organisation to sign in to',
    user: 'Open the application you want from its usual address: sign-in starts there.',
    admin: 'The sign-in host was opened without a sign-in state naming the tenant, and more than one tenant exists.',
  },
  // --- identity: access to an app (edge/access) ---
  'DB-ACCESS-NOT-ASSIGNED': {
    status: 403,
    title: 'You have not been given access to this application',
    user: 'Your account is fine, but nobody has assigned this application to you or to one of your groups. Ask your help desk or the application owner to assign it to you, and quote the code below.',
    admin:
      'Neither the user nor any of their groups is assigned to the app. Assign one: POST /api/v1/tenants/{tenant}/apps/{app}/assignments.',
  },
  'DB-ACCESS-NO-LICENCE': {
    status: 403,
    title: 'Your account has no licence for published applications',
    user: 'You are assigned to this application, but your account lacks the licence needed to use applications published through Drawbridge. Ask your help desk to give you a Basic or Premium licence, and quote the code below.',
    admin:
      'The user has no basic or premium licence, directly or through a group, or the SKU has no free seat. Assign one: POST /api/v1/tenants/{tenant}/licences/{sku}/assignments.',
  },
  'DB-ACCESS-ACCOUNT-DISABLED': {
    status: 403,
    title: 'Your account is disabled',
    user: 'Your organisation has disabled your account, so you cannot sign in to any application. Contact your help desk.',
    admin:
      'The user\'s enabled flag is false. Enable it with PATCH /api/v1/tenants/{tenant}/users/{id} {"enabled": true}.',
  },
  // --- the admin console (edge/console/, docs/console.md) ---
  'DB-CONSOLE-NOT-ADMIN': {
    status: 403,
    title: 'You are not an administrator of this tenant',
    user: 'You signed in, but your account may not use the Drawbridge admin console. Ask an administrator of your organisation to add you to one of the console groups (Drawbridge Admins, for example), and quote the code below.',
    admin:
      'Only members of one of the tenant\'s console groups sign in to the console, and only for their own tenant: "Drawbridge Admins" (tenant admin), "Drawbridge Connector Operators", "Drawbridge App Admins" (with at least one app assigned to them: those are the apps they administer) or "Drawbridge Security Readers" (docs/admin-roles.md); or the bootstrap admin token. Add the user: PUT /api/v1/tenants/{tenant}/user-groups/{group}/members/{user}.',
  },
  // --- conditional access (policies per tenant: docs/conditional-access.md) ---
  'DB-CA-BLOCKED': {
    status: 403,
    title: 'Your organisation does not allow access from here',
    user: 'A conditional access policy of your organisation blocks this sign-in: from this network, this device, at this time, or because the sign-in looked risky. Try again from your usual network or device (for example the office network or VPN); if you think it is a mistake, give your help desk the code and correlation id below.',
    admin:
      'An enabled conditional access policy with the block grant applied. The sign-in log entry (detail.policies) names the policy and the condition that matched (named location, country, platform, client type, risk, time); `drawbridge admin policies what-if` replays the decision.',
  },
  'DB-CA-MFA-REQUIRED': {
    status: 401,
    title: 'A second sign-in step is required for this application',
    user: 'Your organisation requires a second step (an authenticator code or a passkey) for this application from where you are. Finish it to continue; if you have none yet, you are asked to set one up first.',
    admin:
      'A conditional access policy requiring MFA applied and the session had only one factor. The sign-in log entry (detail.policies) names the policy; the user is taken through the second step, or through registration when they have no method.',
  },
  'DB-CA-PHISHING-RESISTANT-REQUIRED': {
    status: 401,
    title: 'A passkey is required for this application',
    user: 'Your organisation requires a passkey (not a code) for this application. Sign in with your passkey, or register one when asked; a security key, or the passkey of your phone or computer, works.',
    admin:
      'A conditional access policy requiring phishing-resistant MFA applied and the session was not proved with a passkey. The sign-in log entry (detail.policies) names the policy.',
  },
  'DB-CA-REAUTH-REQUIRED': {
    status: 401,
    title: 'Sign in again to continue',
    user: 'Your organisation asks you to sign in again after some hours for this application. Sign in again to continue where you were.',
    admin:
      'A conditional access policy with a sign-in frequency applied and the sign-in was older than its hours. The sign-in log entry (detail.policies) names the policy.',
  },
  // --- identity: federation with an external OpenID Connect provider ---
  'DB-FED-NOT-CONFIGURED': {
    status: 404,
    title: "Sign-in with your organisation's provider is not set up",
    user: 'Use your Drawbridge user name and password instead, or ask your help desk.',
    admin: 'The tenant has no OpenID Connect provider configured (PUT /api/v1/tenants/{tenant}/identity-settings).',
  },
  'DB-FED-PROVIDER-ERROR': {
    status: 502,
    title: 'Your identity provider did not complete the sign-in',
    user: "Signing in with your organisation's provider failed or was cancelled. Try again; if it persists, tell your help desk.",
    admin:
      "Discovery, the authorization response or the token exchange with the OpenID Connect provider failed (error from the provider, PKCE/state/nonce mismatch, invalid ID token). The log line has the provider's error.",
  },
  'DB-FED-CLAIMS-INVALID': {
    status: 403,
    title: 'Your identity provider did not send the details needed',
    user: "Your account at your organisation's provider lacks information Drawbridge needs. Tell your help desk.",
    admin:
      'The ID token or userinfo lacked the claim mapped to the user name (claimMapping.username, default preferred_username then email), or the user is linked to another account.',
  },
  'DB-FED-ACCOUNT-NOT-LINKED': {
    status: 403,
    title: "Your account here is not linked to your organisation's sign-in",
    user: 'An account with your name already exists here, but it is not linked to the provider you signed in with. Sign in with your password, or ask your administrator to link the two.',
    admin:
      "Federation never takes over an existing local or password-holding account by its name (whoever controls the provider's claim would own it). Link the external identity to the account deliberately, or remove the local account if the provider should own it.",
  },
  // --- single sign-on to the backend (connector/sso): Kerberos constrained delegation and identity headers ---
  'DB-KCD-NOT-CONFIGURED': {
    status: 502,
    title: 'Single sign-on to this application is not set up on the connector',
    user: 'The application needs Windows sign-on, which is not set up yet. Tell your help desk and quote the code below.',
    admin:
      'The app has sso: kerberos but the connector serving it was started without --kerberos-config (realm, KDCs, service principal, keytab). Start every connector of the group with it (docs/sso.md), then check with drawbridge connector diagnose kcd.',
  },
  'DB-KCD-KEYTAB': {
    status: 502,
    title: 'The connector could not use its Kerberos key',
    user: 'Windows sign-on to this application is misconfigured. Tell your help desk and quote the code below.',
    admin:
      'The connector keytab is missing, unreadable, not 0600, malformed, has no AES key for the service principal, or is outdated (KDC_ERR_PREAUTH_FAILED: the account password changed). Export a fresh keytab (ktpass / samba-tool domain exportkeytab) for the principal in --kerberos-config.',
  },
  'DB-KCD-KDC-UNREACHABLE': {
    status: 502,
    title: 'The domain controller could not be reached',
    user: 'Windows sign-on is unavailable right now. Try again in a minute; if it persists, tell your help desk.',
    admin:
      "No KDC of the connector's --kerberos-config list answered (TCP/UDP 88). Check the list, DNS, and the firewall between the connector and the domain controllers.",
  },
  'DB-KCD-CLOCK-SKEW': {
    status: 502,
    title: "The connector's clock is out of step with the domain",
    user: 'Windows sign-on is unavailable right now. Tell your help desk and quote the code below.',
    admin:
      "The connector host's clock differs from the domain controller's by more than 5 minutes (the log has the measured skew). Synchronise the connector host with NTP (the domain's time source).",
  },
  'DB-KCD-NO-COMMON-ENCTYPE': {
    status: 502,
    title: 'The connector and the domain share no encryption type',
    user: 'Windows sign-on to this application is misconfigured. Tell your help desk and quote the code below.',
    admin:
      "The keytab holds no AES key the KDC accepts, or the target service account supports none (KDC_ERR_ETYPE_NOSUPP). Enable AES (msDS-SupportedEncryptionTypes 24) on the connector service account and the app's account, and export an AES keytab. RC4/DES are not supported.",
  },
  'DB-KCD-USER-UNKNOWN': {
    status: 403,
    title: "Your account is not known to the application's domain",
    user: 'You signed in, but your account has no matching Windows account for this application. Tell your help desk and quote the code below.',
    admin:
      "S4U2Self failed with KDC_ERR_C_PRINCIPAL_UNKNOWN: no domain account matches the login identity sent. Check the app's sso.loginIdentity (upn, onPremName, upnUserPart, email) against the user's AD attributes, or create/sync the account.",
  },
  'DB-KCD-USER-DISABLED': {
    status: 403,
    title: 'Your Windows account is disabled',
    user: 'Your Windows account for this application is disabled, expired or locked. Contact your help desk.',
    admin:
      'S4U2Self was refused with KDC_ERR_POLICY or KDC_ERR_CLIENT_REVOKED: the domain account is disabled, expired, locked out or outside its logon hours. Enable it in Active Directory.',
  },
  'DB-KCD-USER-SENSITIVE': {
    status: 403,
    title: 'Your account cannot be used for single sign-on',
    user: 'Your Windows account is protected against delegation, so this application cannot sign you in automatically. Contact your help desk.',
    admin:
      'The user is marked "Account is sensitive and cannot be delegated" (or is in Protected Users): the S4U2Self ticket is not forwardable, so S4U2Proxy fails (KDC_ERR_BADOPTION). Clear the flag for this user if delegation is acceptable, or publish the app without sso: kerberos for them.',
  },
  'DB-KCD-PROTOCOL-TRANSITION-OFF': {
    status: 502,
    title: "The connector's service account may not sign users in",
    user: 'Windows sign-on to this application is misconfigured. Tell your help desk and quote the code below.',
    admin:
      'The connector service account is trusted for delegation with "Kerberos only": S4U2Self tickets are not forwardable, so S4U2Proxy fails (KDC_ERR_BADOPTION). In its Delegation tab choose "Use any authentication protocol" (TRUSTED_TO_AUTH_FOR_DELEGATION).',
  },
  'DB-KCD-DELEGATION-NOT-ALLOWED': {
    status: 502,
    title: 'The connector may not sign users in to this application',
    user: 'Windows sign-on to this application is misconfigured. Tell your help desk and quote the code below.',
    admin:
      "S4U2Proxy was refused (KDC_ERR_BADOPTION) with a forwardable evidence ticket: the app's SPN is not in the connector account's msDS-AllowedToDelegateTo, and no resource-based delegation allows it. Add the SPN to the connector account's delegation list (Delegation tab), or set msDS-AllowedToActOnBehalfOfOtherIdentity on the app's account.",
  },
  'DB-KCD-SPN-UNKNOWN': {
    status: 502,
    title: "The application's Kerberos name is not registered",
    user: 'Windows sign-on to this application is misconfigured. Tell your help desk and quote the code below.',
    admin:
      "S4U2Proxy failed with KDC_ERR_S_PRINCIPAL_UNKNOWN: no account has the app's sso.spn. Register it on the app's service account (setspn -S HTTP/host account) and use the host name the app is reached by, without port.",
  },
  'DB-KCD-BACKEND-NTLM': {
    status: 502,
    title: 'The application accepts only NTLM, not Kerberos',
    user: 'Windows sign-on to this application is misconfigured. Tell your help desk and quote the code below.',
    admin:
      'The backend answered 401 with WWW-Authenticate: NTLM only (or an NTLM token), so a delegated Kerberos ticket cannot sign the user in. Enable Kerberos on the app (IIS: Windows Authentication providers Negotiate before NTLM; kernel-mode auth or the app-pool identity matching the SPN), and register the SPN HTTP/<host> on the account the app runs as.',
  },
  'DB-KCD-BACKEND-REJECTED': {
    status: 502,
    title: 'The application refused the Kerberos ticket',
    user: 'Windows sign-on to this application failed. Try again; if it persists, tell your help desk and quote the code below.',
    admin:
      "The backend answered 401 to the Negotiate header twice (the connector refreshed the ticket and retried once), or sent a Kerberos error (e.g. KRB_AP_ERR_MODIFIED: the SPN is registered on another account than the one the app runs as, or its keytab is outdated). Check the SPN registration and the app's keytab/service account.",
  },
  'DB-KCD-MUTUAL-AUTH-FAILED': {
    status: 502,
    title: 'The application could not prove its identity',
    user: 'The connection to this application could not be verified. Tell your help desk and quote the code below.',
    admin:
      "The backend's Negotiate reply did not contain a valid AP-REP for the ticket sent: something other than the real app answered, or a proxy in between rewrote the response. Check the internal URL and what answers at it.",
  },
  'DB-KCD-FAILED': {
    status: 502,
    title: 'Windows sign-on to this application failed',
    user: 'Windows sign-on to this application failed. Try again; if it persists, tell your help desk and quote the code below.',
    admin:
      'Kerberos delegation failed for a reason without a more specific code (the connector log line has the Kerberos error code, KDC error name and hint). Run drawbridge connector diagnose kcd --app APP --user USER.',
  },
  'DB-SSO-NO-IDENTITY': {
    status: 502,
    title: 'Single sign-on needs a signed-in user',
    user: 'This application needs to know who you are, but no signed-in user reached it. Tell your help desk and quote the code below.',
    admin:
      'The app has sso: kerberos or headers but the request carried no identity (preAuth: passthrough), or the user lacks the attribute sso.loginIdentity names (onPremName or email empty). Use preAuth: idp, or fill the attribute in the directory.',
  },
  // --- remote desktop: the edge's built-in RD Gateway for apps of kind rdp (edge/rdg) ---
  'DB-RDG-TOKEN-INVALID': {
    status: 401,
    title: 'The remote desktop connection has no valid gateway access token',
    user: 'Open the app from your portal and use "Connect" again: it downloads a connection file with a fresh token. With FreeRDP, pass that token as /gat:<token>.',
    admin:
      "The client sent no gateway access token (PAA cookie), one this edge cannot open (another deployment's keys, or altered), or one minted for another app. The log line has the gateway's reason.",
  },
  'DB-RDG-TOKEN-EXPIRED': {
    status: 401,
    title: 'The remote desktop gateway access token has expired',
    user: 'Gateway access tokens are short-lived. Open the app from your portal and use "Connect" again for a fresh connection file.',
    admin:
      'The token was minted more than its lifetime ago (5 minutes). An open connection is not affected; only starting a new one needs a fresh token.',
  },
  'DB-RDG-RESOURCE-REFUSED': {
    status: 403,
    title: 'The remote desktop gateway does not reach that computer',
    user: 'The connection file names a computer this app does not publish. Download it again from your portal.',
    admin:
      "The client asked the gateway for a host or port other than the app's internal URL (rdp://host:port). Only that one target is allowed; the log line names what was asked for.",
  },
  // --- TCP apps (edge/proxy/tcp-channel.ts, connector/forward/tcp.ts) ---
  'DB-TCP-TOKEN-MISSING': {
    status: 401,
    title: 'A TCP app needs a token',
    user: 'This application is reached with the drawbridge command-line tool, signed in. Run `drawbridge access tcp` or `drawbridge access ssh` with a service token (DRAWBRIDGE_TOKEN or --token).',
    admin:
      'A client opened a TCP channel without `Authorization: Bearer <token>`. Give automation a service token (POST /api/v1/tenants/{tenant}/service-tokens) assigned to the app.',
  },
  'DB-TCP-TOKEN-INVALID': {
    status: 401,
    title: 'The token was not accepted',
    user: 'The token you used is not valid for this organisation. Check it, or ask your administrator for a new one.',
    admin:
      "The bearer token is not a service token of the app's tenant, or its secret does not match (deleted or rotated token, a token of another tenant, a typo). The sign-in log has the attempt.",
  },
  'DB-TCP-NOT-TCP-APP': {
    status: 400,
    title: 'This application is not a TCP application',
    user: 'This address publishes a web application, not a TCP service. Open it in a browser.',
    admin:
      'A TCP channel (Upgrade: drawbridge-tcp/1) was asked of an app whose internal URL is not tcp://host:port, or a plain HTTP request reached a TCP app.',
  },
  'DB-CONNECTOR-TCP-TARGET-REFUSED': {
    status: 403,
    title: 'The connector refused this TCP target',
    user: 'The application cannot be reached through this connector. Tell your help desk.',
    admin:
      "A connector was asked to open a TCP channel to a host and port that is not the app's own tcp://host:port (or the app is not a TCP app); connectors never act as open proxies.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof catalogue;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(catalogue, value);
}
