/**
 * `drawbridge admin …`: the admin REST API from the command line. Human output is aligned tables; `--json` prints
 * the API's JSON unchanged. Errors print the catalogue code, what happened and what to do, and exit non-zero
 * (1: the API refused or could not be reached, 2: usage).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminApiError, AdminClient, AdminUnreachableError, seg } from './admin-client.ts';
import { catalogue } from '../errors/catalogue.ts';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { applyAction, exportAction } from './apply/command.ts';
import { renderGroupHealth, type GroupHealthView } from './group-health-view.ts';
import { REPORT_NAMES, REPORTS, reportCsv, type ReportName, type ReportRow } from '../edge/admin/reports.ts';
import { toCsv } from '../edge/admin/signin-log-routes.ts';
import type { SigninLogEntry } from '../store/directory-types.ts';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:8444';

export interface AdminIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
}

const defaultIo: AdminIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
};

const OPTIONS = {
  'admin-url': { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  'state-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  tenant: { type: 'string', short: 't' },
  group: { type: 'string', short: 'g' },
  ttl: { type: 'string' },
  name: { type: 'string' },
  'display-name': { type: 'string' },
  'internal-url': { type: 'string' },
  'external-url': { type: 'string' },
  'pre-auth': { type: 'string' },
  'backend-timeout': { type: 'string' },
  'tls-verify': { type: 'string' },
  'retry-writes': { type: 'string' },
  'backend-ca-file': { type: 'string' },
  sso: { type: 'string' },
  'sso-spn': { type: 'string' },
  'sso-login-identity': { type: 'string' },
  'sso-user-header': { type: 'string' },
  'sso-email-header': { type: 'string' },
  'sso-groups-header': { type: 'string' },
  'sso-jwt': { type: 'string' },
  hsts: { type: 'string' },
  'hsts-include-subdomains': { type: 'string' },
  'translate-headers': { type: 'string' },
  'translate-body': { type: 'string' },
  'cookie-persistent': { type: 'string' },
  'cookie-lifetime': { type: 'string' },
  'cookie-samesite': { type: 'string' },
  enabled: { type: 'string' },
  action: { type: 'string' },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  format: { type: 'string' },
  // conditional access
  cidrs: { type: 'string' },
  countries: { type: 'string' },
  state: { type: 'string' },
  file: { type: 'string', short: 'f' },
  prune: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  users: { type: 'string' },
  groups: { type: 'string' },
  'exclude-users': { type: 'string' },
  'exclude-groups': { type: 'string' },
  apps: { type: 'string' },
  locations: { type: 'string' },
  'exclude-locations': { type: 'string' },
  platforms: { type: 'string' },
  'client-types': { type: 'string' },
  risk: { type: 'string' },
  grant: { type: 'string' },
  'frequency-hours': { type: 'string' },
  persistent: { type: 'string' },
  user: { type: 'string' },
  app: { type: 'string' },
  ip: { type: 'string' },
  platform: { type: 'string' },
  'client-type': { type: 'string' },
  country: { type: 'string' },
  'auth-methods': { type: 'string' },
  time: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  // administrators and the directory
  role: { type: 'string' },
  administrator: { type: 'string' },
  expires: { type: 'string' },
  email: { type: 'string' },
  password: { type: 'string' },
  seats: { type: 'string' },
  description: { type: 'string' },
  result: { type: 'string' },
  code: { type: 'string' },
  event: { type: 'string' },
  version: { type: 'string' },
  'timeout-seconds': { type: 'string' },
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>['values'];

/** A usage mistake: printed with the command's usage, exit 2. */
class UsageError extends Error {}

export interface Run {
  api: AdminClient;
  flags: Flags;
  args: string[];
  json: boolean;
  print(text: string): void;
}

export interface Action {
  usage: string;
  summary: string;
  flags?: [string, string][];
  run(r: Run): Promise<void>;
}

interface Resource {
  summary: string;
  actions: Record<string, Action>;
  /** Action taken when none is named (audit). */
  defaultAction?: string;
}

// --- output ---

/** Aligned columns, two spaces apart; the last column is not padded. */
export function table(headers: string[], rows: (string | number | boolean | null | undefined)[][]): string {
  const cells = [
    headers,
    ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c)))),
  ];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return `${cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function fields(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj);
  const width = Math.max(...keys.map((k) => k.length));
  return `${keys
    .map((k) => {
      const v = obj[k];
      const text = v === null || v === undefined ? '-' : typeof v === 'object' ? JSON.stringify(v) : String(v);
      return `${k.padEnd(width)}  ${text.includes('\n') ? `\n${text}` : text}`;
    })
    .join('\n')}\n`;
}

function emit(r: Run, value: unknown, human: () => string): void {
  r.print(r.json ? `${JSON.stringify(value, null, 2)}\n` : human());
}

// --- argument helpers ---

function need(r: Run, flag: keyof Flags, what: string): string {
  const value = r.flags[flag];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${flag} is required (${what})`);
  return value;
}

function arg(r: Run, index: number, what: string): string {
  const value = r.args[index];
  if (!value) throw new UsageError(`missing ${what}`);
  return value;
}

function tenantPath(r: Run): string {
  return `/tenants/${seg(need(r, 'tenant', 'the tenant name or id'))}`;
}

function bool(flag: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (/^(true|yes|on|1)$/i.test(value)) return true;
  if (/^(false|no|off|0)$/i.test(value)) return false;
  throw new UsageError(`--${flag}: expected true or false`);
}

/** `90`, `90s`, `30m`, `1h`, `7d` → seconds. */
export function parseDuration(value: string, flag = 'ttl'): number {
  const match = /^(\d+)\s*(s|m|h|d)?$/i.exec(value.trim());
  if (!match) throw new UsageError(`--${flag}: expected a duration such as 30m, 1h or 7d, got ${value}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's').toLowerCase() as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

function backendTimeout(value: string | undefined): number | 'default' | 'long' | undefined {
  if (value === undefined) return undefined;
  if (value === 'default' || value === 'long') return value;
  if (/^\d+$/.test(value)) return Number(value);
  throw new UsageError('--backend-timeout: seconds (1–3600), default (85) or long (180)');
}

/** The app fields a create or update may carry, from flags; only those given. */
function appBody(r: Run): Record<string, unknown> {
  const f = r.flags;
  const body: Record<string, unknown> = {
    name: f.name,
    internalUrl: f['internal-url'],
    externalUrl: f['external-url'],
    groupId: f.group,
    preAuth: f['pre-auth'],
    backendTimeout: backendTimeout(f['backend-timeout']),
    tlsVerify: bool('tls-verify', f['tls-verify']),
    retryWrites: bool('retry-writes', f['retry-writes']),
    enabled: bool('enabled', f.enabled),
  };
  const sso = ssoBody(f);
  if (sso) body.sso = sso;
  Object.assign(body, webBody(f));
  const caFile = f['backend-ca-file'];
  if (caFile !== undefined) body.backendCa = caFile === '' || caFile === 'none' ? null : readFileSync(caFile, 'utf8');
  return Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
}

/** HSTS, link translation and session cookie flags → the app's objects (the API validates them; a partial object changes only what it names). */
function webBody(f: Flags): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (f.hsts !== undefined) {
    if (/^(off|false|no|none)$/i.test(f.hsts)) body.hsts = null;
    else
      body.hsts = {
        maxAge: parseDuration(f.hsts, 'hsts'),
        includeSubDomains: bool('hsts-include-subdomains', f['hsts-include-subdomains']) ?? false,
      };
  } else if (f['hsts-include-subdomains'] !== undefined) {
    throw new UsageError('--hsts-include-subdomains needs --hsts MAX-AGE');
  }
  const links = {
    headers: bool('translate-headers', f['translate-headers']),
    body: bool('translate-body', f['translate-body']),
  };
  if (links.headers !== undefined || links.body !== undefined)
    body.linkTranslation = Object.fromEntries(Object.entries(links).filter(([, v]) => v !== undefined));
  const cookie: Record<string, unknown> = {};
  if (f['cookie-persistent'] !== undefined) cookie.persistent = f['cookie-persistent'];
  if (f['cookie-lifetime'] !== undefined)
    cookie.lifetimeSeconds =
      f['cookie-lifetime'] === 'none' ? null : parseDuration(f['cookie-lifetime'], 'cookie-lifetime');
  if (f['cookie-samesite'] !== undefined) {
    const v = f['cookie-samesite'].toLowerCase();
    cookie.sameSite = v === 'lax' ? 'Lax' : v === 'strict' ? 'Strict' : v === 'none' ? 'None' : f['cookie-samesite'];
  }
  if (Object.keys(cookie).length > 0) body.sessionCookie = cookie;
  return body;
}

/** `--sso none|kerberos|headers` with its detail flags → the app's sso object (the API validates it). */
function ssoBody(f: Flags): Record<string, unknown> | undefined {
  const mode = f.sso;
  const detail = [
    'sso-spn',
    'sso-login-identity',
    'sso-user-header',
    'sso-email-header',
    'sso-groups-header',
    'sso-jwt',
  ] as const;
  if (mode === undefined) {
    const given = detail.find((k) => f[k] !== undefined);
    if (given) throw new UsageError(`--${given} needs --sso kerberos or --sso headers`);
    return undefined;
  }
  if (mode === 'none') return { mode: 'none' };
  if (mode === 'kerberos') {
    if (!f['sso-spn']) throw new UsageError('--sso kerberos needs --sso-spn HTTP/host');
    return { mode, spn: f['sso-spn'], loginIdentity: f['sso-login-identity'] ?? 'upn' };
  }
  if (mode === 'headers') {
    const headers = Object.fromEntries(
      (
        [
          ['user', 'sso-user-header'],
          ['email', 'sso-email-header'],
          ['groups', 'sso-groups-header'],
        ] as const
      )
        .filter(([, flag]) => f[flag] !== undefined)
        .map(([key, flag]) => [key, f[flag]]),
    );
    return { mode, headers, ...(f['sso-jwt'] === undefined ? {} : { jwt: bool('sso-jwt', f['sso-jwt']) }) };
  }
  throw new UsageError('--sso: none, kerberos or headers');
}

// --- commands ---

type Obj = Record<string, unknown> & { id: string; name: string };
type Items<T = Obj> = { items: T[] };

const APP_FLAGS: [string, string][] = [
  ['--internal-url URL', 'http(s)://host[:port][/base] as the connector sees it'],
  ['--group G', 'connector group name or id'],
  ['--external-url URL', 'https://host[:port] (default https://<app>-<tenant>.<edge domain>)'],
  ['--pre-auth idp|passthrough', 'sign users in first (idp, default) or not'],
  ['--backend-timeout S', 'seconds 1–3600, default (85) or long (180)'],
  ['--tls-verify true|false', 'validate the backend certificate (default true)'],
  ['--retry-writes true|false', 'retry PUT/DELETE on another connector when a tunnel dies first (default false)'],
  ['--backend-ca-file F', 'PEM CA bundle to trust for the backend (none to clear)'],
  ['--sso none|kerberos|headers', 'single sign-on to the backend (docs/sso.md)'],
  ['--sso-spn SPN', "kerberos: the backend's SPN, e.g. HTTP/app.corp.example"],
  ['--sso-login-identity I', 'kerberos: upn (default), onPremName, upnUserPart or email'],
  ['--sso-user-header H', "headers: header for the user's UPN"],
  ['--sso-email-header H', 'headers: header for the email'],
  ['--sso-groups-header H', 'headers: header for the groups (comma-separated)'],
  ['--sso-jwt true|false', 'headers: also send the edge-signed JWT (x-drawbridge-assertion)'],
  ['--hsts MAX-AGE|off', 'Strict-Transport-Security on the app host, e.g. 365d (default off)'],
  ['--hsts-include-subdomains true|false', 'HSTS: includeSubDomains (default false)'],
  [
    '--translate-headers true|false',
    "internal URLs of the tenant's apps → external in response headers (default true)",
  ],
  ['--translate-body true|false', '… and in HTML, CSS, JavaScript and JSON bodies (default false)'],
  [
    '--cookie-persistent user|always|never',
    'app session cookie: persistent when the user stays signed in (default), always, never',
  ],
  ['--cookie-lifetime D|none', "app session lifetime cap, e.g. 8h (default none: the sign-in session's)"],
  ['--cookie-samesite lax|strict|none', 'app session cookie SameSite (default lax)'],
  ['--enabled true|false', 'switch the app on or off'],
];

type LiveConnector = Obj & {
  id: string;
  name: string;
  enabled: boolean;
  live: { status: string; version: string | null; connectedSince: string | null };
};

/**
 * `connectors upgrade`: each connected connector of the group in turn is asked to restart (it drains, exits, and its
 * service manager starts it again, on whatever version is installed now), and must be connected again, with a new
 * connection (and --version, when given) before the next one goes. Never two down at once; the first that does not
 * come back stops the upgrade. A group with one connector is refused: restarting it is an outage.
 */
async function upgradeGroup(r: Run, group: string): Promise<void> {
  const version = r.flags.version;
  const timeoutMs = Number(r.flags['timeout-seconds'] ?? '120') * 1000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0)
    throw new UsageError('--timeout-seconds: expected a positive number');
  const list = async (): Promise<LiveConnector[]> =>
    (await r.api.request<Items<LiveConnector>>('GET', `${tenantPath(r)}/connectors?groupId=${seg(group)}`)).items;
  const connected = (await list()).filter((c) => c.enabled && c.live.status === 'connected');
  if (connected.length < 2)
    throw new Error(
      `group ${group} has ${connected.length} connected connector(s): restarting the only one would stop its apps; add a connector first`,
    );
  const done: { id: string; name: string; from: string | null; to: string | null; skipped: boolean }[] = [];
  for (const c of connected) {
    if (version !== undefined && c.live.version === version) {
      done.push({ id: c.id, name: c.name, from: c.live.version, to: c.live.version, skipped: true });
      if (!r.json)
        r.print(`${c.name} (${c.id}): already on ${version}
`);
      continue;
    }
    const ack = await r.api.request<{ restarting: boolean }>(
      'POST',
      `${tenantPath(r)}/connectors/${seg(c.id)}/restart`,
    );
    if (!ack.restarting)
      throw new Error(
        `${c.name} (${c.id}) refused to restart: it does not run under a service manager (systemd, or connector run --supervised)`,
      );
    if (!r.json)
      r.print(`${c.name} (${c.id}): restarting…
`);
    const deadline = Date.now() + timeoutMs;
    let back: LiveConnector | undefined;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      back = (await list()).find((x) => x.id === c.id);
      if (
        back &&
        back.live.status === 'connected' &&
        back.live.connectedSince !== c.live.connectedSince &&
        (version === undefined || back.live.version === version)
      )
        break;
      if (Date.now() > deadline) {
        throw new Error(
          `${c.name} (${c.id}) is not back${version === undefined ? '' : ` on ${version}`} after ${timeoutMs / 1000} s (now ${back?.live.status ?? 'gone'}, version ${back?.live.version ?? 'unknown'}): upgrade stopped, the other connectors were left as they are`,
        );
      }
    }
    done.push({ id: c.id, name: c.name, from: c.live.version, to: back.live.version, skipped: false });
    if (!r.json)
      r.print(`${c.name} (${c.id}): back, version ${back.live.version ?? 'unknown'}
`);
  }
  emit(
    r,
    { connectors: done },
    () => `Upgraded group ${group}: ${done.filter((d) => !d.skipped).length} restarted, ${done.filter((d) => d.skipped).length} already on ${version ?? 'the version'}.
`,
  );
}

async function groupNames(r: Run): Promise<Map<string, string>> {
  const groups = await r.api.request<Items>('GET', `${tenantPath(r)}/connector-groups`);
  return new Map(groups.items.map((g) => [g.id, g.name]));
}

/** One security report: the API's JSON, printed as a table, CSV (the API's own columns and quoting) or JSON. */
function reportAction(name: ReportName): Action {
  return {
    usage: `reports ${name} --tenant T [--since ISO] [--until ISO] [--limit N] [--format table|csv|json]`,
    summary: REPORTS[name].summary,
    flags: [
      ['--since ISO', 'from this time (default 30 days before --until)'],
      ['--until ISO', 'up to this time (default now)'],
      ['--limit N', 'rows of a top list or of risky sign-ins (1–1000)'],
      ['--format F', 'table (default), csv or json'],
    ],
    async run(r) {
      const format = r.json ? 'json' : (r.flags.format ?? 'table');
      if (!['table', 'csv', 'json'].includes(format)) throw new UsageError('--format: table, csv or json');
      const q = new URLSearchParams();
      for (const key of ['since', 'until', 'limit'] as const) if (r.flags[key]) q.set(key, r.flags[key]);
      const res = await r.api.request<{ report: string; since: string; until: string; items: ReportRow[] }>(
        'GET',
        `${tenantPath(r)}/reports/${name}${q.size ? `?${q}` : ''}`,
      );
      if (format === 'json') return r.print(`${JSON.stringify(res, null, 2)}\n`);
      if (format === 'csv') return r.print(reportCsv(name, res.items));
      const columns = REPORTS[name].columns as readonly string[];
      const cell = (v: ReportRow[string] | undefined) => (Array.isArray(v) ? v.join(', ') : v);
      r.print(
        `${REPORTS[name].summary}, ${res.since} to ${res.until}\n\n` +
          (res.items.length
            ? table(
                columns.map((c) => c.replace(/([a-z])([A-Z])/g, '$1 $2').toUpperCase()),
                res.items.map((row) => columns.map((c) => cell(row[c]))),
              )
            : 'Nothing in this window.\n'),
      );
    },
  };
}

// --- conditional access ---

const list = (value: string | undefined): string[] | undefined =>
  value === undefined
    ? undefined
    : value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean);

/** A policy body from `--file` (JSON) and/or flags; flags win over the file. Names are resolved by the API. */
function policyBody(r: Run): Record<string, unknown> {
  const f = r.flags;
  const body: Record<string, unknown> = f.file
    ? (JSON.parse(readFileSync(f.file, 'utf8')) as Record<string, unknown>)
    : {};
  if (f.name !== undefined) body.name = f.name;
  if (f.state !== undefined) body.state = f.state;
  const conditions: Record<string, unknown> = { ...((body.conditions as Record<string, unknown>) ?? {}) };
  const users = list(f.users);
  const groups = list(f.groups);
  if (users || groups)
    conditions.users = {
      ...(conditions.users as object),
      include: users?.[0] === 'all' ? 'all' : { users: users ?? [], groups: groups ?? [] },
    };
  const exUsers = list(f['exclude-users']);
  const exGroups = list(f['exclude-groups']);
  if (exUsers || exGroups)
    conditions.users = { ...(conditions.users as object), exclude: { users: exUsers ?? [], groups: exGroups ?? [] } };
  const apps = list(f.apps);
  if (apps) conditions.apps = apps[0] === 'all' ? 'all' : apps;
  const locations = list(f.locations);
  const exLocations = list(f['exclude-locations']);
  if (locations || exLocations) {
    conditions.locations = {
      ...(conditions.locations as object),
      ...(locations ? { include: locations[0] === 'any' ? 'any' : locations } : {}),
      ...(exLocations ? { exclude: exLocations } : {}),
    };
  }
  if (f.platforms !== undefined) conditions.platforms = f.platforms === 'any' ? null : list(f.platforms);
  if (f['client-types'] !== undefined)
    conditions.clientTypes = f['client-types'] === 'any' ? null : list(f['client-types']);
  if (f.risk !== undefined) conditions.signinRisk = f.risk === 'any' ? null : list(f.risk);
  if (Object.keys(conditions).length) body.conditions = conditions;
  const grant: Record<string, unknown> = { ...((body.grant as Record<string, unknown>) ?? {}) };
  for (const g of list(f.grant) ?? []) {
    if (g === 'block') grant.block = true;
    else if (g === 'mfa') grant.requireMfa = true;
    else if (g === 'passkey') grant.requirePhishingResistantMfa = true;
    else throw new UsageError('--grant: a list of block, mfa, passkey');
  }
  if (f['frequency-hours'] !== undefined)
    grant.signInFrequencyHours = f['frequency-hours'] === 'none' ? null : Number(f['frequency-hours']);
  if (f.persistent !== undefined) grant.persistentSession = f.persistent === 'user' ? null : f.persistent;
  if (Object.keys(grant).length) body.grant = grant;
  return body;
}

function grantText(g: Record<string, unknown>): string {
  const parts = [
    g.block && 'block',
    g.requireMfa && 'mfa',
    g.requirePhishingResistantMfa && 'passkey',
    g.signInFrequencyHours && `every ${g.signInFrequencyHours}h`,
    g.persistentSession && `persistent ${g.persistentSession}`,
  ];
  return parts.filter(Boolean).join(', ');
}

const POLICY_FLAGS: [string, string][] = [
  ['--name N', 'unique within the tenant'],
  ['--state on|off|report-only', 'report-only logs what it would have done (default on)'],
  ['--users U,…|all', 'users (UPN or id) the policy applies to; all by default'],
  ['--groups G,…', 'user groups it applies to'],
  ['--exclude-users U,…', 'never these users (a break-glass account)'],
  ['--exclude-groups G,…', 'never these groups'],
  ['--apps A,…|all', 'apps by name or id; all by default'],
  ['--locations L,…|any', 'only clients in these named locations'],
  ['--exclude-locations L,…', 'never clients in these named locations'],
  ['--platforms P,…|any', 'windows, macos, linux, ios, android, chromeos, unknown'],
  ['--client-types T,…|any', 'browser, drawbridge-client, service-token'],
  ['--risk R,…|any', 'sign-in risk levels: none, low, medium, high'],
  ['--grant G,…', 'block, mfa, passkey'],
  ['--frequency-hours H|none', 're-authenticate after H hours'],
  ['--persistent always|never|user', 'app session cookie persistence'],
  ['--file F', 'a JSON policy body (flags override its fields); time windows go here'],
];

// --- administrators' tokens ---

/** `drawbridge admin tokens`: administrators' API tokens (an enrollment token when --group is given, as before). */
const ADMIN_TOKENS: Resource = {
  summary: 'Admin API tokens: per administrator, with a role, a tenant scope (one or all) and an expiry',
  actions: {
    create: {
      usage: 'tokens create --role R [--tenant T] [--administrator NAME] [--apps A,B] [--expires 30d]',
      summary:
        'Create an admin API token (shown once); without --tenant it acts in every tenant. With --group G instead of --role: a connector enrollment token (enrollment-tokens create)',
      flags: [
        ['--role R', 'global-admin, tenant-admin, app-admin, security-reader or connector-operator'],
        ['--tenant T', 'the one tenant it acts in (required except for global-admin and all-tenant readers/operators)'],
        ['--administrator NAME', "whose token it is: the audit log's actor (default: your login name)"],
        ['--apps A,B', 'app-admin: the apps (names or ids) it administers'],
        ['--expires D', 'lifetime: 1h, 30d (default), up to 366d'],
      ],
      async run(r) {
        if (!r.flags.role && r.flags.group) return resources['enrollment-tokens'].actions.create.run(r);
        const role = need(r, 'role', "the administrator's role");
        const body = {
          administrator: r.flags.administrator ?? loginName(),
          role,
          ...(r.flags.apps ? { apps: list(r.flags.apps) } : {}),
          ...(r.flags.expires ? { expiresInSeconds: parseDuration(r.flags.expires, 'expires') } : {}),
        };
        const path = r.flags.tenant ? `${tenantPath(r)}/admin-tokens` : '/admin-tokens';
        const res = await r.api.request<
          Obj & { token: string; expiresAt: string; role: string; tenantId: string | null }
        >('POST', path, body);
        emit(
          r,
          res,
          () =>
            `${res.token}\n\nThis token is shown once. Role ${res.role} in ${r.flags.tenant ? `tenant ${r.flags.tenant}` : 'every tenant'}; expires at ${res.expiresAt}.\n` +
            `Use it with --token or DRAWBRIDGE_ADMIN_TOKEN; revoke it with drawbridge admin tokens revoke ${res.id}${r.flags.tenant ? ` --tenant ${r.flags.tenant}` : ''}\n`,
        );
      },
    },
    list: {
      usage: 'tokens list [--tenant T]',
      summary:
        "List admin API tokens (never their secret): the tenant's, or without --tenant every token (global admins)",
      async run(r) {
        const res = await r.api.request<Items<Obj & AdminTokenRow>>(
          'GET',
          r.flags.tenant ? `${tenantPath(r)}/admin-tokens` : '/admin-tokens',
        );
        const now = Date.now();
        emit(r, res, () =>
          table(
            ['ID', 'ADMINISTRATOR', 'ROLE', 'TENANT', 'APPS', 'STATE', 'EXPIRES', 'CREATED BY'],
            res.items.map((t) => [
              t.id,
              t.administrator,
              t.role,
              t.tenantId ?? 'all',
              t.appIds.join(',') || null,
              t.revokedAt ? 'revoked' : Date.parse(t.expiresAt) <= now ? 'expired' : 'valid',
              t.expiresAt,
              t.createdBy,
            ]),
          ),
        );
      },
    },
    revoke: {
      usage: 'tokens revoke ID [--tenant T]',
      summary: 'Revoke a token: refused from its next request on',
      async run(r) {
        const id = arg(r, 0, 'token id (atk_…)');
        const res = await r.api.request<Obj & AdminTokenRow>(
          'DELETE',
          r.flags.tenant ? `${tenantPath(r)}/admin-tokens/${seg(id)}` : `/admin-tokens/${seg(id)}`,
        );
        emit(r, res, () => `Revoked ${res.id} (${res.administrator}, ${res.role}) at ${res.revokedAt ?? ''}.\n`);
      },
    },
  },
};

interface AdminTokenRow {
  administrator: string;
  role: string;
  tenantId: string | null;
  appIds: string[];
  expiresAt: string;
  revokedAt: string | null;
  createdBy: string;
}

function loginName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'cli';
  }
}

// --- directory: users, user groups, licences, app assignments, identity settings, sign-in log ---

/** `user|group REF` → the API's principal: a user by UPN, login name or id; a user group by name or id. */
async function principal(r: Run, typeIndex: number): Promise<{ type: 'user' | 'group'; id: string }> {
  const type = arg(r, typeIndex, 'user or group');
  const ref = arg(r, typeIndex + 1, `${type} name or id`);
  if (type === 'user') return { type, id: (await r.api.request<Obj>('GET', `${tenantPath(r)}/users/${seg(ref)}`)).id };
  if (type !== 'group') throw new UsageError(`expected user or group, got ${type}`);
  if (ref.startsWith('ugr_')) return { type, id: ref };
  const groups = await r.api.request<Items>('GET', `${tenantPath(r)}/user-groups`);
  const found = groups.items.find((g) => g.name === ref);
  if (!found) throw new UsageError(`no user group ${ref} in this tenant`);
  return { type, id: found.id };
}

const principalCells = (a: Record<string, unknown>): [string, string] => {
  const p = a.principal as { type: string; id: string };
  return [p.type, p.id];
};

function signinQuery(r: Run): URLSearchParams {
  const q = new URLSearchParams();
  const map: [keyof Flags, string][] = [
    ['user', 'username'],
    ['app', 'appId'],
    ['result', 'result'],
    ['code', 'code'],
    ['event', 'event'],
    ['ip', 'clientIp'],
    ['since', 'since'],
    ['until', 'until'],
    ['limit', 'limit'],
    ['cursor', 'cursor'],
  ];
  for (const [flag, key] of map) if (typeof r.flags[flag] === 'string') q.set(key, r.flags[flag] as string);
  return q;
}

async function appIdOf(r: Run, ref: string): Promise<string> {
  return ref.startsWith('app_') ? ref : (await r.api.request<Obj>('GET', `${tenantPath(r)}/apps/${seg(ref)}`)).id;
}

const SIGNIN_FLAGS: [string, string][] = [
  ['--user U', 'user name as typed at sign-in'],
  ['--app A', 'app name or id'],
  ['--result R', 'success, failure or interrupted'],
  ['--code C', 'a catalogue code'],
  ['--event E', 'sign-in event'],
  ['--ip IP', 'client address'],
  ['--since ISO', 'from'],
  ['--until ISO', 'to'],
];

const DIRECTORY_RESOURCES: Record<string, Resource> = {
  'user-groups': {
    summary: "User groups of the tenant's directory and their members",
    actions: {
      list: {
        usage: 'user-groups list --tenant T',
        summary: 'List user groups',
        async run(r) {
          const res = await r.api.request<Items>('GET', `${tenantPath(r)}/user-groups`);
          emit(r, res, () =>
            table(
              ['NAME', 'ID', 'DESCRIPTION'],
              res.items.map((g) => [g.name, g.id, g.description as string]),
            ),
          );
        },
      },
      create: {
        usage: 'user-groups create NAME --tenant T [--description D]',
        summary: 'Create a user group',
        async run(r) {
          const res = await r.api.request<Obj>('POST', `${tenantPath(r)}/user-groups`, {
            name: arg(r, 0, 'group name'),
            ...(r.flags.description ? { description: r.flags.description } : {}),
          });
          emit(r, res, () => `Created user group ${res.name} (${res.id}).\n`);
        },
      },
      delete: {
        usage: 'user-groups delete GROUP --tenant T',
        summary: 'Delete a user group',
        async run(r) {
          const g = arg(r, 0, 'group name or id');
          await r.api.request('DELETE', `${tenantPath(r)}/user-groups/${seg(g)}`);
          emit(r, { deleted: g }, () => `Deleted user group ${g}.\n`);
        },
      },
      members: {
        usage: 'user-groups members GROUP --tenant T',
        summary: "List a group's members",
        async run(r) {
          const res = await r.api.request<Items<Obj & { upn: string }>>(
            'GET',
            `${tenantPath(r)}/user-groups/${seg(arg(r, 0, 'group name or id'))}/members`,
          );
          emit(r, res, () =>
            table(
              ['UPN', 'ID', 'DISPLAY NAME'],
              res.items.map((u) => [u.upn, u.id, u.displayName as string]),
            ),
          );
        },
      },
      'add-member': {
        usage: 'user-groups add-member GROUP USER --tenant T',
        summary: 'Add a user to a group',
        async run(r) {
          const [g, u] = [arg(r, 0, 'group name or id'), arg(r, 1, 'user')];
          await r.api.request('PUT', `${tenantPath(r)}/user-groups/${seg(g)}/members/${seg(u)}`);
          emit(r, { group: g, added: u }, () => `Added ${u} to ${g}.\n`);
        },
      },
      'remove-member': {
        usage: 'user-groups remove-member GROUP USER --tenant T',
        summary: 'Remove a user from a group',
        async run(r) {
          const [g, u] = [arg(r, 0, 'group name or id'), arg(r, 1, 'user')];
          await r.api.request('DELETE', `${tenantPath(r)}/user-groups/${seg(g)}/members/${seg(u)}`);
          emit(r, { group: g, removed: u }, () => `Removed ${u} from ${g}.\n`);
        },
      },
    },
  },
  licences: {
    summary: 'Licences: seats per SKU (free, basic, premium) and who holds them',
    actions: {
      list: {
        usage: 'licences list --tenant T',
        summary: 'Seats, use and assignments',
        async run(r) {
          const res = await r.api.request<Items<Record<string, unknown>> & { assignments: Record<string, unknown>[] }>(
            'GET',
            `${tenantPath(r)}/licences`,
          );
          emit(
            r,
            res,
            () =>
              table(
                ['SKU', 'SEATS', 'USED'],
                res.items.map((l) => [l.sku as string, l.seats as number, l.used as number]),
              ) +
              (res.assignments.length
                ? `\n${table(
                    ['SKU', 'TYPE', 'ID'],
                    res.assignments.map((a) => [a.sku as string, ...principalCells(a)]),
                  )}`
                : ''),
          );
        },
      },
      'set-seats': {
        usage: 'licences set-seats SKU --seats N --tenant T',
        summary: 'Set the seats of a SKU',
        async run(r) {
          const seats = Number(need(r, 'seats', 'the number of seats'));
          if (!Number.isInteger(seats) || seats < 0) throw new UsageError('--seats: a whole number, 0 or more');
          const res = await r.api.request<Record<string, unknown>>(
            'PUT',
            `${tenantPath(r)}/licences/${seg(arg(r, 0, 'SKU'))}`,
            { seats },
          );
          emit(r, res, () => `${String(res.sku)}: ${String(res.seats)} seat(s).\n`);
        },
      },
      assign: {
        usage: 'licences assign SKU user|group NAME --tenant T',
        summary: 'Assign a licence to a user or a user group',
        async run(r) {
          const sku = arg(r, 0, 'SKU');
          const p = await principal(r, 1);
          const res = await r.api.request('POST', `${tenantPath(r)}/licences/${seg(sku)}/assignments`, p);
          emit(r, res, () => `Assigned ${sku} to ${p.type} ${r.args[2]}.\n`);
        },
      },
      unassign: {
        usage: 'licences unassign SKU user|group NAME --tenant T',
        summary: 'Remove a licence assignment',
        async run(r) {
          const sku = arg(r, 0, 'SKU');
          const p = await principal(r, 1);
          await r.api.request('DELETE', `${tenantPath(r)}/licences/${seg(sku)}/assignments/${p.type}/${seg(p.id)}`);
          emit(r, { sku, removed: p }, () => `Removed ${sku} from ${p.type} ${r.args[2]}.\n`);
        },
      },
    },
  },
  assignments: {
    summary: 'App assignments: the users and user groups that may use an app',
    actions: {
      list: {
        usage: 'assignments list APP --tenant T',
        summary: 'Who is assigned to the app',
        async run(r) {
          const res = await r.api.request<Items<Record<string, unknown>>>(
            'GET',
            `${tenantPath(r)}/apps/${seg(arg(r, 0, 'app name or id'))}/assignments`,
          );
          emit(r, res, () =>
            table(
              ['TYPE', 'ID', 'CREATED'],
              res.items.map((a) => [...principalCells(a), a.createdAt as string]),
            ),
          );
        },
      },
      add: {
        usage: 'assignments add APP user|group NAME --tenant T',
        summary: 'Assign the app to a user or a user group',
        async run(r) {
          const app = arg(r, 0, 'app name or id');
          const p = await principal(r, 1);
          const res = await r.api.request('POST', `${tenantPath(r)}/apps/${seg(app)}/assignments`, p);
          emit(r, res, () => `Assigned ${app} to ${p.type} ${r.args[2]}.\n`);
        },
      },
      remove: {
        usage: 'assignments remove APP user|group NAME --tenant T',
        summary: 'Remove an app assignment',
        async run(r) {
          const app = arg(r, 0, 'app name or id');
          const p = await principal(r, 1);
          await r.api.request('DELETE', `${tenantPath(r)}/apps/${seg(app)}/assignments/${p.type}/${seg(p.id)}`);
          emit(r, { app, removed: p }, () => `Removed ${p.type} ${r.args[2]} from ${app}.\n`);
        },
      },
    },
  },
  'signin-log': {
    summary: 'The sign-in log, newest first: filter, page, export',
    defaultAction: 'list',
    actions: {
      list: {
        usage: 'signin-log [list] --tenant T [filters] [--limit N] [--cursor C]',
        summary: 'Show sign-ins',
        flags: [...SIGNIN_FLAGS, ['--limit N', 'entries per page'], ['--cursor C', 'continue from a previous page']],
        async run(r) {
          const q = signinQuery(r);
          if (r.flags.app) q.set('appId', await appIdOf(r, r.flags.app));
          const res = await r.api.request<Items<Record<string, unknown>> & { next: string | null }>(
            'GET',
            `${tenantPath(r)}/signin-log${q.size ? `?${q}` : ''}`,
          );
          emit(
            r,
            res,
            () =>
              table(
                ['TIME', 'USER', 'APP', 'RESULT', 'CODE', 'CLIENT IP', 'EVENT'],
                res.items.map((e) => [
                  e.time as string,
                  e.username as string,
                  e.appId as string | null,
                  e.result as string,
                  e.code as string | null,
                  e.clientIp as string,
                  e.event as string,
                ]),
              ) +
              (res.next ? `\nMore: drawbridge admin signin-log --tenant ${r.flags.tenant} --cursor ${res.next}\n` : ''),
          );
        },
      },
      export: {
        usage: 'signin-log export --tenant T [filters] [--format csv|json]',
        summary: 'Every matching sign-in (up to 100,000), as CSV (default) or JSON',
        flags: [...SIGNIN_FLAGS, ['--format F', 'csv (default) or json']],
        async run(r) {
          const format = r.json ? 'json' : (r.flags.format ?? 'csv');
          if (format !== 'csv' && format !== 'json') throw new UsageError('--format: csv or json');
          const q = signinQuery(r);
          if (r.flags.app) q.set('appId', await appIdOf(r, r.flags.app));
          q.set('format', 'json');
          const res = await r.api.request<{ items: SigninLogEntry[] }>(
            'GET',
            `${tenantPath(r)}/signin-log/export?${q}`,
          );
          r.print(format === 'json' ? `${JSON.stringify(res, null, 2)}\n` : toCsv(res.items));
        },
      },
    },
  },
  'identity-settings': {
    summary: "The tenant's MFA policy, session lifetimes and OIDC federation",
    actions: {
      show: {
        usage: 'identity-settings show --tenant T',
        summary: 'Show the settings (the OIDC client secret is never shown)',
        async run(r) {
          const res = await r.api.request<Record<string, unknown>>('GET', `${tenantPath(r)}/identity-settings`);
          emit(r, res, () => fields(res));
        },
      },
      set: {
        usage: 'identity-settings set --tenant T --file settings.json',
        summary: 'Change settings: the fields of the JSON file change, the rest stay',
        async run(r) {
          const file = need(r, 'file', 'a JSON file with the fields to change');
          const res = await r.api.request<Record<string, unknown>>(
            'PUT',
            `${tenantPath(r)}/identity-settings`,
            JSON.parse(readFileSync(file, 'utf8')) as unknown,
          );
          emit(r, res, () => fields(res));
        },
      },
    },
  },
  'identity-providers': {
    summary: "The tenant's OpenID Connect providers and the e-mail domains each owns (home realm discovery)",
    actions: {
      list: {
        usage: 'identity-providers list --tenant T',
        summary: 'List the providers in the order the sign-in page shows them (client secrets are never shown)',
        async run(r) {
          const res = await r.api.request<Items<Obj & { issuer: string; domains: string[]; buttonLabel: string }>>(
            'GET',
            `${tenantPath(r)}/identity-providers`,
          );
          emit(r, res, () =>
            table(
              ['ID', 'ISSUER', 'DOMAINS', 'BUTTON'],
              res.items.map((p) => [p.id as string, p.issuer, p.domains.join(', '), p.buttonLabel]),
            ),
          );
        },
      },
      set: {
        usage: 'identity-providers set ID --tenant T --file provider.json',
        summary:
          "Create or replace a provider from a JSON file (issuer, clientId, clientSecret, domains, buttonLabel, …); `default` is the settings' oidc",
        async run(r) {
          const id = arg(r, 0, 'provider id');
          const file = need(r, 'file', 'a JSON file describing the provider');
          const res = await r.api.request<Record<string, unknown>>(
            'PUT',
            `${tenantPath(r)}/identity-providers/${seg(id)}`,
            JSON.parse(readFileSync(file, 'utf8')) as unknown,
          );
          emit(r, res, () => fields(res));
        },
      },
      delete: {
        usage: 'identity-providers delete ID --tenant T',
        summary: 'Remove a provider (its users stay; they can no longer sign in through it)',
        async run(r) {
          const id = arg(r, 0, 'provider id');
          await r.api.request('DELETE', `${tenantPath(r)}/identity-providers/${seg(id)}`);
          emit(r, { deleted: id }, () => `Deleted identity provider ${id}.\n`);
        },
      },
    },
  },
};

/** Users: the whole API (create, update, delete, password, unlock, MFA reset) beside disable, enable, revoke-sessions. */
const USER_ACTIONS: Record<string, Action> = {
  create: {
    usage: 'users create UPN --tenant T [--display-name N] [--email E] [--password P]',
    summary: 'Create a user (without --password: none set; reset-password gives one)',
    async run(r) {
      const body = {
        upn: arg(r, 0, 'UPN'),
        ...(r.flags['display-name'] ? { displayName: r.flags['display-name'] } : {}),
        ...(r.flags.email ? { email: r.flags.email } : {}),
        ...(r.flags.password ? { password: r.flags.password } : {}),
      };
      const res = await r.api.request<Obj & { upn: string }>('POST', `${tenantPath(r)}/users`, body);
      emit(r, res, () => `Created ${res.upn} (${res.id}).\n`);
    },
  },
  update: {
    usage: 'users update USER --tenant T [--display-name N] [--email E]',
    summary: "Change a user's display name or e-mail",
    async run(r) {
      const body = {
        ...(r.flags['display-name'] ? { displayName: r.flags['display-name'] } : {}),
        ...(r.flags.email ? { email: r.flags.email } : {}),
      };
      const res = await r.api.request<Obj & { upn: string }>(
        'PATCH',
        `${tenantPath(r)}/users/${seg(arg(r, 0, 'user'))}`,
        body,
      );
      emit(r, res, () => `Updated ${res.upn} (${res.id}).\n`);
    },
  },
  delete: {
    usage: 'users delete USER --tenant T',
    summary: 'Delete a user (their sessions end)',
    async run(r) {
      const u = arg(r, 0, 'user');
      await r.api.request('DELETE', `${tenantPath(r)}/users/${seg(u)}`);
      emit(r, { deleted: u }, () => `Deleted ${u}.\n`);
    },
  },
  'reset-password': {
    usage: 'users reset-password USER --tenant T [--password P]',
    summary: 'Set a new password (a generated one is printed when --password is not given); unlocks and ends sessions',
    async run(r) {
      const u = arg(r, 0, 'user');
      const res = await r.api.request<{ reset: boolean; password?: string }>(
        'POST',
        `${tenantPath(r)}/users/${seg(u)}/password`,
        r.flags.password ? { password: r.flags.password } : {},
      );
      emit(r, res, () => (res.password ? `New password of ${u}: ${res.password}\n` : `Password of ${u} set.\n`));
    },
  },
  unlock: {
    usage: 'users unlock USER --tenant T',
    summary: 'Clear the failed sign-in count and the lock',
    async run(r) {
      const u = arg(r, 0, 'user');
      const res = await r.api.request('POST', `${tenantPath(r)}/users/${seg(u)}/unlock`);
      emit(r, res, () => `Unlocked ${u}.\n`);
    },
  },
  'reset-mfa': {
    usage: 'users reset-mfa USER --tenant T',
    summary: 'Remove TOTP, recovery codes and passkeys: the user enrols again',
    async run(r) {
      const u = arg(r, 0, 'user');
      await r.api.request('DELETE', `${tenantPath(r)}/users/${seg(u)}/mfa`);
      emit(r, { reset: u }, () => `Reset the MFA methods of ${u}.\n`);
    },
  },
};

const resources: Record<string, Resource> = {
  tenants: {
    summary: 'Tenants: the data boundary (an organisation)',
    actions: {
      list: {
        usage: 'tenants list',
        summary: 'List tenants',
        async run(r) {
          const res = await r.api.request<Items>('GET', '/tenants');
          emit(r, res, () =>
            table(
              ['NAME', 'ID', 'DISPLAY NAME', 'CREATED'],
              res.items.map((t) => [t.name, t.id, t.displayName as string, t.createdAt as string]),
            ),
          );
        },
      },
      get: {
        usage: 'tenants get T',
        summary: 'Show one tenant (name or id)',
        async run(r) {
          const res = await r.api.request<Obj>('GET', `/tenants/${seg(arg(r, 0, 'tenant name or id'))}`);
          emit(r, res, () => fields(res));
        },
      },
      create: {
        usage: 'tenants create NAME [--display-name TEXT]',
        summary: 'Create a tenant (NAME: lower-case letters, digits, hyphens)',
        flags: [['--display-name TEXT', 'shown in the console and portal (default NAME)']],
        async run(r) {
          const body = {
            name: arg(r, 0, 'tenant NAME'),
            ...(r.flags['display-name'] ? { displayName: r.flags['display-name'] } : {}),
          };
          const res = await r.api.request<Obj>('POST', '/tenants', body);
          emit(r, res, () => `Created tenant ${res.name} (${res.id}).\n`);
        },
      },
      delete: {
        usage: 'tenants delete T',
        summary: 'Delete a tenant (refused while it has apps or connectors)',
        async run(r) {
          const t = arg(r, 0, 'tenant name or id');
          await r.api.request('DELETE', `/tenants/${seg(t)}`);
          emit(r, { deleted: t }, () => `Deleted tenant ${t}.\n`);
        },
      },
    },
  },
  groups: {
    summary: 'Connector groups: the connectors that serve a set of apps',
    actions: {
      list: {
        usage: 'groups list --tenant T',
        summary: 'List connector groups',
        async run(r) {
          const res = await r.api.request<Items>('GET', `${tenantPath(r)}/connector-groups`);
          emit(r, res, () =>
            table(
              ['NAME', 'ID', 'CREATED'],
              res.items.map((g) => [g.name, g.id, g.createdAt as string]),
            ),
          );
        },
      },
      health: {
        usage: 'groups health [G] --tenant T',
        summary:
          'Connectors, tunnels, health, RTT, in-flight streams and versions per group; flags groups with fewer than two healthy connectors',
        async run(r) {
          const g = r.args[0];
          const res = g
            ? {
                items: [
                  await r.api.request<GroupHealthView>('GET', `${tenantPath(r)}/connector-groups/${seg(g)}/health`),
                ],
              }
            : await r.api.request<{ items: GroupHealthView[] }>('GET', `${tenantPath(r)}/group-health`);
          emit(r, res, () => renderGroupHealth(res.items));
        },
      },
      create: {
        usage: 'groups create NAME --tenant T',
        summary: 'Create a connector group',
        async run(r) {
          const res = await r.api.request<Obj>('POST', `${tenantPath(r)}/connector-groups`, {
            name: arg(r, 0, 'group NAME'),
          });
          emit(r, res, () => `Created connector group ${res.name} (${res.id}).\n`);
        },
      },
      delete: {
        usage: 'groups delete G --tenant T',
        summary: 'Delete a connector group (refused while apps or connectors use it)',
        async run(r) {
          const g = arg(r, 0, 'group name or id');
          await r.api.request('DELETE', `${tenantPath(r)}/connector-groups/${seg(g)}`);
          emit(r, { deleted: g }, () => `Deleted connector group ${g}.\n`);
        },
      },
    },
  },
  'enrollment-tokens': {
    summary: 'Enrollment tokens: one-time, expiring secrets that register a connector into a group',
    actions: {
      create: {
        usage: 'enrollment-tokens create --tenant T --group G [--ttl 1h]',
        summary: 'Create a token (shown once)',
        flags: [
          ['--group G', 'connector group name or id'],
          ['--ttl D', 'lifetime: 90s, 30m, 1h (default), 7d (max)'],
        ],
        async run(r) {
          const body = {
            groupId: need(r, 'group', 'the connector group'),
            ...(r.flags.ttl ? { ttlSeconds: parseDuration(r.flags.ttl) } : {}),
          };
          const res = await r.api.request<Obj & { token: string; expiresAt: string }>(
            'POST',
            `${tenantPath(r)}/enrollment-tokens`,
            body,
          );
          emit(
            r,
            res,
            () =>
              `${res.token}\n\nThis token is shown once. It registers one connector and expires at ${res.expiresAt}.\n` +
              `On the connector host: drawbridge connector register --token <token>\n`,
          );
        },
      },
      list: {
        usage: 'enrollment-tokens list --tenant T',
        summary: 'List tokens (never their secret)',
        async run(r) {
          const res = await r.api.request<Items>('GET', `${tenantPath(r)}/enrollment-tokens`);
          const names = r.json ? new Map<string, string>() : await groupNames(r);
          const now = Date.now();
          emit(r, res, () =>
            table(
              ['ID', 'GROUP', 'STATE', 'EXPIRES', 'CONNECTOR'],
              res.items.map((t) => [
                t.id,
                names.get(t.groupId as string) ?? (t.groupId as string),
                t.usedAt ? 'used' : Date.parse(t.expiresAt as string) <= now ? 'expired' : 'valid',
                t.expiresAt as string,
                t.connectorId as string | null,
              ]),
            ),
          );
        },
      },
    },
  },
  tokens: ADMIN_TOKENS,
  apps: {
    summary: 'Apps: internal web applications published through the edge',
    actions: {
      list: {
        usage: 'apps list --tenant T',
        summary: 'List apps',
        async run(r) {
          const res = await r.api.request<Items>('GET', `${tenantPath(r)}/apps`);
          const names = r.json ? new Map<string, string>() : await groupNames(r);
          emit(r, res, () =>
            table(
              ['NAME', 'EXTERNAL URL', 'INTERNAL URL', 'GROUP', 'PRE-AUTH', 'ENABLED'],
              res.items.map((a) => [
                a.name,
                a.externalUrl as string,
                a.internalUrl as string,
                names.get(a.groupId as string) ?? (a.groupId as string),
                a.preAuth as string,
                a.enabled ? 'yes' : 'no',
              ]),
            ),
          );
        },
      },
      get: {
        usage: 'apps get APP --tenant T',
        summary: 'Show one app (name or id)',
        async run(r) {
          const res = await r.api.request<Obj>('GET', `${tenantPath(r)}/apps/${seg(arg(r, 0, 'app name or id'))}`);
          emit(r, res, () => fields(res));
        },
      },
      create: {
        usage: 'apps create NAME --tenant T --internal-url URL --group G [flags]',
        summary: 'Publish an app',
        flags: APP_FLAGS,
        async run(r) {
          const body = { ...appBody(r), name: arg(r, 0, 'app NAME') };
          need(r, 'internal-url', 'where the connector reaches the app');
          need(r, 'group', 'the connector group that serves it');
          const res = await r.api.request<Obj>('POST', `${tenantPath(r)}/apps`, body);
          emit(r, res, () => `Published ${res.name} at ${res.externalUrl as string} (${res.id}).\n`);
        },
      },
      update: {
        usage: 'apps update APP --tenant T [--name NEW] [flags]',
        summary: 'Change an app',
        flags: [['--name NEW', 'rename'], ...APP_FLAGS],
        async run(r) {
          const body = appBody(r);
          if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give at least one field flag');
          const res = await r.api.request<Obj>(
            'PATCH',
            `${tenantPath(r)}/apps/${seg(arg(r, 0, 'app name or id'))}`,
            body,
          );
          emit(r, res, () => fields(res));
        },
      },
      'test-connection': {
        usage: 'apps test-connection APP --tenant T',
        summary:
          "A connector of the app's group requests its internal URL now: the HTTP status and time, or why it did not answer",
        async run(r) {
          const res = await r.api.request<
            Obj & {
              status: number | null;
              ms: number;
              error: string | null;
              url: string;
              connectorId: string;
              connectorName?: string;
            }
          >('POST', `${tenantPath(r)}/apps/${seg(arg(r, 0, 'app name or id'))}/test-connection`);
          const from = res.connectorName ?? res.connectorId;
          emit(r, res, () =>
            res.status !== null
              ? `${from} reached ${res.url}: HTTP ${res.status} in ${res.ms} ms.\n`
              : `${from} could not reach ${res.url}: ${res.error ?? 'no answer'} after ${res.ms} ms.\n`,
          );
        },
      },
      'cert-upload': {
        usage: 'apps cert-upload APP --tenant T --cert CHAIN.pem --key KEY.pem',
        summary: 'Give the app its own certificate for its host (custom domains); served by SNI at once, no restart',
        flags: [
          ['--cert FILE', 'PEM certificate chain, leaf first'],
          ['--key FILE', 'PEM private key of the leaf'],
        ],
        async run(r) {
          const body = {
            certificate: readFileSync(need(r, 'cert', 'the PEM certificate chain'), 'utf8'),
            privateKey: readFileSync(need(r, 'key', 'the PEM private key'), 'utf8'),
          };
          const res = await r.api.request<Obj>(
            'PUT',
            `${tenantPath(r)}/apps/${seg(arg(r, 0, 'app name or id'))}/certificate`,
            body,
          );
          emit(
            r,
            res,
            () =>
              `Serving ${res.subjectAltName as string} for ${res.host as string} until ${res.notAfter as string}.\n`,
          );
        },
      },
      'cert-show': {
        usage: 'apps cert-show APP --tenant T',
        summary: "Show the app's own certificate (uploaded or from ACME)",
        async run(r) {
          const res = await r.api.request<Obj>(
            'GET',
            `${tenantPath(r)}/apps/${seg(arg(r, 0, 'app name or id'))}/certificate`,
          );
          emit(r, res, () => fields(res));
        },
      },
      'cert-remove': {
        usage: 'apps cert-remove APP --tenant T',
        summary: "Remove the app's own certificate (the edge's, or ACME's, is served instead)",
        async run(r) {
          const a = arg(r, 0, 'app name or id');
          await r.api.request('DELETE', `${tenantPath(r)}/apps/${seg(a)}/certificate`);
          emit(r, { removed: a }, () => `Removed the certificate of app ${a}.\n`);
        },
      },
      delete: {
        usage: 'apps delete APP --tenant T',
        summary: 'Unpublish an app',
        async run(r) {
          const a = arg(r, 0, 'app name or id');
          await r.api.request('DELETE', `${tenantPath(r)}/apps/${seg(a)}`);
          emit(r, { deleted: a }, () => `Deleted app ${a}.\n`);
        },
      },
    },
  },
  connectors: {
    summary: 'Connectors: agents inside the network that dial out to the edge',
    actions: {
      list: {
        usage: 'connectors list --tenant T [--group G]',
        summary: 'List connectors with their live status',
        flags: [['--group G', 'only this group']],
        async run(r) {
          const q = r.flags.group ? `?groupId=${seg(r.flags.group)}` : '';
          const res = await r.api.request<Items<Obj & { live: Record<string, unknown> }>>(
            'GET',
            `${tenantPath(r)}/connectors${q}`,
          );
          const names = r.json ? new Map<string, string>() : await groupNames(r);
          emit(r, res, () =>
            table(
              ['NAME', 'ID', 'GROUP', 'STATUS', 'TUNNELS', 'WORKERS', 'IN FLIGHT', 'ADDRESS', 'VERSION', 'LAST SEEN'],
              res.items.map((c) => [
                c.name,
                c.id,
                names.get(c.groupId as string) ?? (c.groupId as string),
                c.live.status as string,
                c.live.tunnels as number,
                (c.live.workers as number | undefined) ?? null,
                c.live.inFlight as number,
                (c.live.address ?? c.lastAddress) as string | null,
                (c.live.version ?? c.version) as string | null,
                c.lastSeenAt as string | null,
              ]),
            ),
          );
        },
      },
      get: {
        usage: 'connectors get ID --tenant T',
        summary: 'Show one connector',
        async run(r) {
          const res = await r.api.request<Obj>('GET', `${tenantPath(r)}/connectors/${seg(arg(r, 0, 'connector id'))}`);
          emit(r, res, () => fields(res));
        },
      },
      enable: {
        usage: 'connectors enable ID --tenant T',
        summary: 'Let the connector connect again',
        async run(r) {
          const res = await r.api.request<Obj>(
            'PATCH',
            `${tenantPath(r)}/connectors/${seg(arg(r, 0, 'connector id'))}`,
            { enabled: true },
          );
          emit(r, res, () => `Enabled connector ${res.name} (${res.id}).\n`);
        },
      },
      disable: {
        usage: 'connectors disable ID --tenant T',
        summary: 'Refuse the connector and drop its tunnels now',
        async run(r) {
          const res = await r.api.request<Obj>(
            'PATCH',
            `${tenantPath(r)}/connectors/${seg(arg(r, 0, 'connector id'))}`,
            { enabled: false },
          );
          emit(r, res, () => `Disabled connector ${res.name} (${res.id}); its tunnels were dropped.\n`);
        },
      },
      update: {
        usage: 'connectors update ID --tenant T [--name NEW] [--group G]',
        summary: 'Rename a connector or move it to another group',
        flags: [
          ['--name NEW', 'rename'],
          ['--group G', 'move to this group'],
        ],
        async run(r) {
          const body = {
            ...(r.flags.name ? { name: r.flags.name } : {}),
            ...(r.flags.group ? { groupId: r.flags.group } : {}),
          };
          if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give --name or --group');
          const res = await r.api.request<Obj>(
            'PATCH',
            `${tenantPath(r)}/connectors/${seg(arg(r, 0, 'connector id'))}`,
            body,
          );
          emit(r, res, () => fields(res));
        },
      },
      upgrade: {
        usage: 'connectors upgrade --tenant T --group G [--version V] [--timeout-seconds S]',
        summary:
          'Rolling restart of a group, one connector at a time, each back connected before the next (install the new version on the hosts first)',
        flags: [
          ['--group G', 'the connector group'],
          ['--version V', 'skip connectors already on V, and require V after each restart'],
          ['--timeout-seconds S', 'how long one connector may take to come back (default 120)'],
        ],
        async run(r) {
          await upgradeGroup(r, need(r, 'group', 'connector group name or id'));
        },
      },
      'renew-certificate': {
        usage: 'connectors renew-certificate ID --tenant T',
        summary: "Renew the connector's certificate now over its tunnel (the edge also does it before expiry)",
        async run(r) {
          const c = arg(r, 0, 'connector id');
          const res = await r.api.request<Obj>('POST', `${tenantPath(r)}/connectors/${seg(c)}/renew-certificate`);
          emit(
            r,
            res,
            () =>
              `Renewed the certificate of connector ${c}: serial ${res.serial}, valid until ${res.notAfter}. The connector redials its tunnels with it now.\n`,
          );
        },
      },
      delete: {
        usage: 'connectors delete ID --tenant T',
        summary: 'Delete a connector (its certificate is refused from now on)',
        async run(r) {
          const c = arg(r, 0, 'connector id');
          await r.api.request('DELETE', `${tenantPath(r)}/connectors/${seg(c)}`);
          emit(r, { deleted: c }, () => `Deleted connector ${c}.\n`);
        },
      },
    },
  },
  users: {
    summary: "Users of the tenant's directory: create, change, disable, reset password or MFA, end their sessions",
    actions: {
      ...USER_ACTIONS,
      list: {
        usage: 'users list --tenant T',
        summary: 'List users',
        async run(r) {
          const res = await r.api.request<Items<Obj & { upn: string }>>('GET', `${tenantPath(r)}/users?limit=500`);
          emit(r, res, () =>
            table(
              ['UPN', 'ID', 'DISPLAY NAME', 'ENABLED', 'SOURCE', 'LAST SIGN-IN'],
              res.items.map((u) => [
                u.upn,
                u.id,
                u.displayName as string,
                u.enabled as boolean,
                u.source as string,
                u.lastSignInAt as string | null,
              ]),
            ),
          );
        },
      },
      get: {
        usage: 'users get USER --tenant T',
        summary: 'Show one user (UPN, login name or id) with groups, licences, apps and MFA methods',
        async run(r) {
          const res = await r.api.request<Obj>('GET', `${tenantPath(r)}/users/${seg(arg(r, 0, 'user'))}`);
          emit(r, res, () => fields(res));
        },
      },
      disable: {
        usage: 'users disable USER --tenant T',
        summary: 'Disable the account: its sessions end and its open connections close on every edge node',
        async run(r) {
          const res = await r.api.request<Obj & { upn: string }>(
            'PATCH',
            `${tenantPath(r)}/users/${seg(arg(r, 0, 'user'))}`,
            { enabled: false },
          );
          emit(
            r,
            res,
            () => `Disabled ${res.upn} (${res.id}); their sessions were ended and open connections closed.\n`,
          );
        },
      },
      enable: {
        usage: 'users enable USER --tenant T',
        summary: 'Enable the account again (the user signs in anew)',
        async run(r) {
          const res = await r.api.request<Obj & { upn: string }>(
            'PATCH',
            `${tenantPath(r)}/users/${seg(arg(r, 0, 'user'))}`,
            { enabled: true },
          );
          emit(r, res, () => `Enabled ${res.upn} (${res.id}).\n`);
        },
      },
      'revoke-sessions': {
        usage: 'users revoke-sessions USER --tenant T',
        summary: 'End every session of the user now and close their open connections (the account stays enabled)',
        async run(r) {
          const u = arg(r, 0, 'user');
          const res = await r.api.request<Record<string, unknown>>(
            'POST',
            `${tenantPath(r)}/users/${seg(u)}/revoke-sessions`,
          );
          emit(
            r,
            res,
            () => `Ended ${String(res.ended ?? 0)} session(s) of ${u}; their open connections were closed.\n`,
          );
        },
      },
    },
  },
  'service-tokens': {
    summary: 'Service tokens: credentials for automation that reaches TCP apps (drawbridge access tcp|ssh)',
    actions: {
      create: {
        usage: 'service-tokens create NAME --tenant T',
        summary: 'Create a service token (shown once); then assign it to apps and a licence like a user',
        async run(r) {
          const res = await r.api.request<Obj & { token: string }>('POST', `${tenantPath(r)}/service-tokens`, {
            name: arg(r, 0, 'name'),
          });
          emit(
            r,
            res,
            () =>
              `${res.token}\n\nThis token is shown once. Give it to the client as DRAWBRIDGE_TOKEN (or --token).\n` +
              `Assign it to an app: drawbridge admin service-tokens assign ${res.id} --app APP --tenant ${r.flags.tenant ?? 'T'}\n` +
              `It also needs a licence with application publishing (POST /api/v1/tenants/{tenant}/licences/basic/assignments).\n`,
          );
        },
      },
      list: {
        usage: 'service-tokens list --tenant T',
        summary: 'List service tokens (never their secrets)',
        async run(r) {
          const res = await r.api.request<Items>('GET', `${tenantPath(r)}/service-tokens`);
          emit(r, res, () =>
            table(
              ['NAME', 'ID', 'ENABLED', 'CREATED'],
              res.items.map((t) => [t.name as string, t.id, t.enabled as boolean, t.createdAt as string]),
            ),
          );
        },
      },
      rotate: {
        usage: 'service-tokens rotate TOKEN --tenant T',
        summary: 'Replace the secret of a token (name or id); the old one stops working',
        async run(r) {
          const res = await r.api.request<Obj & { token: string }>(
            'POST',
            `${tenantPath(r)}/service-tokens/${seg(arg(r, 0, 'token'))}/rotate`,
          );
          emit(r, res, () => `${res.token}\n\nThis token is shown once.\n`);
        },
      },
      assign: {
        usage: 'service-tokens assign TOKEN_ID --app APP --tenant T',
        summary: 'Assign the token to an app (name or id), as a user is assigned',
        flags: [['--app APP', 'the app (name or id)']],
        async run(r) {
          const id = arg(r, 0, 'token id');
          const res = await r.api.request<Obj>(
            'POST',
            `${tenantPath(r)}/apps/${seg(need(r, 'app', 'the app'))}/assignments`,
            { type: 'user', id },
          );
          emit(r, res, () => `Assigned ${id} to ${r.flags.app}.\n`);
        },
      },
    },
  },
  reports: {
    summary: 'Security reports over the sign-in log (table, or --format csv|json)',
    actions: {
      list: {
        usage: 'reports list --tenant T',
        summary: 'The reports available',
        async run(r) {
          const res = await r.api.request<Items<{ name: string; summary: string }>>('GET', `${tenantPath(r)}/reports`);
          emit(r, res, () =>
            table(
              ['REPORT', 'WHAT'],
              res.items.map((x) => [x.name, x.summary]),
            ),
          );
        },
      },
      ...Object.fromEntries(REPORT_NAMES.map((name): [string, Action] => [name, reportAction(name)])),
    },
  },
  locations: {
    summary: 'Named locations for conditional access: address ranges and countries',
    actions: {
      list: {
        usage: 'locations list --tenant T',
        summary: 'List named locations',
        async run(r) {
          type Loc = Obj & { cidrs: string[]; countries: string[] };
          const res = await r.api.request<Items<Loc>>('GET', `${tenantPath(r)}/locations`);
          emit(r, res, () =>
            table(
              ['NAME', 'CIDRS', 'COUNTRIES', 'ID'],
              res.items.map((l) => [l.name, l.cidrs.join(' '), l.countries.join(' '), l.id]),
            ),
          );
        },
      },
      create: {
        usage: 'locations create --tenant T --name N [--cidrs C,…] [--countries GB,…]',
        summary: 'Create a named location',
        flags: [
          ['--cidrs C,…', 'addresses and CIDR ranges'],
          ['--countries C,…', 'ISO 3166 two-letter codes'],
        ],
        async run(r) {
          const res = await r.api.request<Obj>('POST', `${tenantPath(r)}/locations`, {
            name: need(r, 'name', 'the location name'),
            cidrs: list(r.flags.cidrs) ?? [],
            countries: list(r.flags.countries) ?? [],
          });
          emit(r, res, () => fields(res));
        },
      },
      update: {
        usage: 'locations update LOCATION --tenant T [--name N] [--cidrs C,…] [--countries C,…]',
        summary: "Replace a named location's name, ranges or countries",
        async run(r) {
          const body = Object.fromEntries(
            Object.entries({
              name: r.flags.name,
              cidrs: list(r.flags.cidrs),
              countries: list(r.flags.countries),
            }).filter(([, v]) => v !== undefined),
          );
          const res = await r.api.request<Obj>(
            'PATCH',
            `${tenantPath(r)}/locations/${seg(arg(r, 0, 'location name or id'))}`,
            body,
          );
          emit(r, res, () => fields(res));
        },
      },
      delete: {
        usage: 'locations delete LOCATION --tenant T',
        summary: 'Delete a named location (refused while a policy names it)',
        async run(r) {
          const l = arg(r, 0, 'location name or id');
          await r.api.request('DELETE', `${tenantPath(r)}/locations/${seg(l)}`);
          emit(r, { deleted: l }, () => `Deleted named location ${l}.\n`);
        },
      },
    },
  },
  policies: {
    summary: 'Conditional access policies, and what-if',
    actions: {
      list: {
        usage: 'policies list --tenant T',
        summary: 'List policies with their state and grant',
        async run(r) {
          type Pol = Obj & { state: string; grant: Record<string, unknown>; conditions: { apps: unknown } };
          const res = await r.api.request<Items<Pol>>('GET', `${tenantPath(r)}/policies`);
          emit(r, res, () =>
            table(
              ['NAME', 'STATE', 'APPS', 'GRANT', 'ID'],
              res.items.map((p) => [
                p.name,
                p.state,
                Array.isArray(p.conditions.apps) ? p.conditions.apps.join(' ') : 'all',
                grantText(p.grant),
                p.id,
              ]),
            ),
          );
        },
      },
      show: {
        usage: 'policies show POLICY --tenant T',
        summary: 'A policy in full (JSON)',
        async run(r) {
          const res = await r.api.request<Obj>(
            'GET',
            `${tenantPath(r)}/policies/${seg(arg(r, 0, 'policy name or id'))}`,
          );
          r.print(`${JSON.stringify(res, null, 2)}\n`);
        },
      },
      create: {
        usage: 'policies create --tenant T --name N --grant block|mfa|passkey [conditions…]',
        summary: 'Create a policy',
        flags: POLICY_FLAGS,
        async run(r) {
          const body = policyBody(r);
          if (!body.name) throw new UsageError('--name is required (the policy name)');
          const res = await r.api.request<Obj>('POST', `${tenantPath(r)}/policies`, body);
          emit(r, res, () => `Created policy ${res.name} (${res.id}), ${res.state as string}.\n`);
        },
      },
      update: {
        usage: 'policies update POLICY --tenant T [--state S] [conditions…] [grant…]',
        summary: 'Update a policy (only the fields given change)',
        flags: POLICY_FLAGS,
        async run(r) {
          const res = await r.api.request<Obj>(
            'PATCH',
            `${tenantPath(r)}/policies/${seg(arg(r, 0, 'policy name or id'))}`,
            policyBody(r),
          );
          emit(r, res, () => `Updated policy ${res.name}, ${res.state as string}.\n`);
        },
      },
      delete: {
        usage: 'policies delete POLICY --tenant T',
        summary: 'Delete a policy',
        async run(r) {
          const p = arg(r, 0, 'policy name or id');
          await r.api.request('DELETE', `${tenantPath(r)}/policies/${seg(p)}`);
          emit(r, { deleted: p }, () => `Deleted policy ${p}.\n`);
        },
      },
      'what-if': {
        usage:
          'policies what-if --tenant T --user U [--app A] [--ip IP] [--platform P] [--client-type C] [--country CC] [--risk R] [--auth-methods password,totp] [--time ISO]',
        summary: 'Which policies apply to such a sign-in, and the decision, without signing in',
        flags: [
          ['--user U', 'UPN or id'],
          ['--app A', 'app name or id'],
          ['--ip IP', 'client address'],
          ['--platform P', 'windows, macos, linux, ios, android, chromeos'],
          ['--client-type C', 'browser (default), drawbridge-client, service-token'],
          ['--country CC', "instead of the country database's answer for --ip"],
          ['--risk R', 'sign-in risk: none (default), low, medium, high'],
          ['--auth-methods M,…', 'what the session proved (default password)'],
          ['--time ISO', 'evaluate at this time'],
        ],
        async run(r) {
          const f = r.flags;
          const body = Object.fromEntries(
            Object.entries({
              user: need(r, 'user', 'the user'),
              app: f.app,
              ip: f.ip,
              platform: f.platform,
              clientType: f['client-type'],
              country: f.country,
              risk: f.risk,
              authMethods: list(f['auth-methods']),
              time: f.time,
            }).filter(([, v]) => v !== undefined),
          );
          type WhatIf = {
            decision: string;
            code: string | null;
            policy: { name: string } | null;
            input: Record<string, unknown>;
            policies: { name: string; state: string; result: string; notApplied?: string }[];
          };
          const res = await r.api.request<WhatIf>('POST', `${tenantPath(r)}/policies/what-if`, body);
          emit(r, res, () => {
            const i = res.input;
            const head = `${i.user as string} → ${f.app ?? 'any app'} from ${(i.ip as string | null) ?? 'no address'}${i.country ? ` (${i.country as string})` : ''}, ${i.platform as string}, ${i.clientType as string}, risk ${i.risk as string}\n`;
            const verdict = `Decision: ${res.decision}${res.code ? ` (${res.code})` : ''}${res.policy ? ` by policy "${res.policy.name}"` : ''}\n\n`;
            return (
              head +
              verdict +
              (res.policies.length
                ? table(
                    ['POLICY', 'STATE', 'RESULT', 'NOT APPLIED BECAUSE'],
                    res.policies.map((p) => [p.name, p.state, p.result, p.notApplied]),
                  )
                : 'No policies.\n')
            );
          });
        },
      },
    },
  },
  apply: {
    summary: 'Make a tenant match a tenant file (YAML): prints the plan, then applies it (docs/declarative.md)',
    defaultAction: 'run',
    actions: { run: applyAction(UsageError) },
  },
  export: {
    summary: 'Write a tenant as a tenant file (YAML) for apply',
    defaultAction: 'run',
    actions: { run: exportAction(UsageError) },
  },
  edges: {
    summary: 'Edge nodes: the cloud-side processes serving users and holding connector tunnels',
    defaultAction: 'list',
    actions: {
      list: {
        usage: 'edges list',
        summary: 'Live edge nodes with their advertised URL, version, tunnels (per connector) and in-flight requests',
        async run(r) {
          type Node = Obj & { tunnels: { connectorId: string; tunnels: number }[] };
          const res = await r.api.request<Items<Node>>('GET', '/edges');
          emit(
            r,
            res,
            () =>
              table(
                ['ID', 'URL', 'VERSION', 'STARTED', 'LAST SEEN', 'IN FLIGHT', 'TUNNELS', 'PER CONNECTOR'],
                res.items.map((n) => [
                  `${n.id as string}${n.self ? ' *' : ''}`,
                  n.advertise as string,
                  n.version as string,
                  n.startedAt as string,
                  n.lastSeenAt as string,
                  n.inFlight as number,
                  n.tunnels.reduce((sum, t) => sum + t.tunnels, 0),
                  n.tunnels.map((t) => `${t.connectorId}:${t.tunnels}`).join(' ') || '-',
                ]),
              ) + (res.items.some((n) => n.self) ? '\n* the node that answered\n' : ''),
          );
        },
      },
    },
  },
  audit: {
    summary: "The tenant's audit log, newest first",
    defaultAction: 'list',
    actions: {
      list: {
        usage: 'audit --tenant T [--action A] [--limit N] [--cursor C]',
        summary: 'Show audit events',
        flags: [
          ['--action A', 'exact action, or a prefix ending in . (app.)'],
          ['--limit N', 'events per page (1–500, default 50)'],
          ['--cursor C', 'continue from a previous page'],
        ],
        async run(r) {
          const q = new URLSearchParams();
          if (r.flags.action) q.set('action', r.flags.action);
          if (r.flags.limit) q.set('limit', r.flags.limit);
          if (r.flags.cursor) q.set('cursor', r.flags.cursor);
          const qs = q.size ? `?${q}` : '';
          const res = await r.api.request<Items<Obj> & { next: string | null }>(
            'GET',
            `${tenantPath(r)}/audit-log${qs}`,
          );
          emit(
            r,
            res,
            () =>
              table(
                ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'DETAIL'],
                res.items.map((e) => [
                  e.time as string,
                  e.actor as string,
                  e.action as string,
                  e.target as string | null,
                  JSON.stringify(e.detail),
                ]),
              ) + (res.next ? `\nMore: drawbridge admin audit --tenant ${r.flags.tenant} --cursor ${res.next}\n` : ''),
          );
        },
      },
    },
  },
  ...DIRECTORY_RESOURCES,
};

// --- help ---

const GLOBAL_HELP = `Global options:
  --admin-url URL     admin API (env DRAWBRIDGE_ADMIN_URL; default ${DEFAULT_ADMIN_URL})
  --token TOKEN       admin bearer token: yours (drawbridge admin tokens create) or the bootstrap token
                      (env DRAWBRIDGE_ADMIN_TOKEN)
  --state-dir D       read adminUrl and adminToken from D/dev.json (drawbridge dev)
  --json              print the API's JSON instead of tables
  -h, --help          this help
`;

function topHelp(): string {
  const width = Math.max(...Object.keys(resources).map((k) => k.length));
  return `Usage: drawbridge admin <command> [action] [options]

Manage tenants, connector groups, enrollment tokens, apps, connectors, the directory (users, user groups, licences,
assignments), conditional access, administrators' tokens, and read the sign-in log, reports and audit log, through
the edge's admin API.

Commands:
${Object.entries(resources)
  .map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`)
  .join('\n')}

Run drawbridge admin <command> --help for its actions and flags.

${GLOBAL_HELP}`;
}

function actionHelp(a: Action): string {
  const flags = a.flags ?? [];
  const width = Math.max(0, ...flags.map(([f]) => f.length));
  return `  drawbridge admin ${a.usage}\n      ${a.summary}\n${flags.map(([f, d]) => `        ${f.padEnd(width)}  ${d}\n`).join('')}`;
}

function resourceHelp(name: string): string {
  const res = resources[name];
  return `${res.summary}.\n\nUsage:\n${Object.values(res.actions).map(actionHelp).join('\n')}\n${GLOBAL_HELP}`;
}

// --- entry ---

interface DevState {
  adminUrl?: string;
  adminToken?: string;
}

function readDevState(stateDir: string): DevState {
  const file = join(stateDir, 'dev.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevState;
  } catch (err) {
    throw new UsageError(
      `--state-dir: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}

/** `argv` is what follows `drawbridge admin`. `io` is for tests. Returns the exit code. */
export async function runAdmin(argv: string[], io: AdminIo = defaultIo): Promise<number> {
  let flags: Flags;
  let positionals: string[];
  try {
    ({ values: flags, positionals } = parseArgs({
      args: argv,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    io.err(`error: ${(err as Error).message}\nRun drawbridge admin --help for usage.\n`);
    return 2;
  }
  const [command, ...rest] = positionals;
  if (!command) {
    (flags.help ? io.out : io.err)(topHelp());
    return flags.help ? 0 : 2;
  }
  const resource = resources[command];
  if (!resource) {
    io.err(`error: unknown command ${command}\n\n${topHelp()}`);
    return 2;
  }
  let actionName = rest[0];
  let args = rest.slice(1);
  if (resource.defaultAction && (actionName === undefined || !(actionName in resource.actions))) {
    actionName = resource.defaultAction;
    args = rest;
  }
  const action = actionName === undefined ? undefined : resource.actions[actionName];
  if (flags.help) {
    io.out(action && !resource.defaultAction ? `${actionHelp(action)}\n${GLOBAL_HELP}` : resourceHelp(command));
    return 0;
  }
  if (!action) {
    io.err(`${actionName ? `error: unknown action ${command} ${actionName}\n\n` : ''}${resourceHelp(command)}`);
    return 2;
  }

  try {
    const dev = flags['state-dir'] ? readDevState(flags['state-dir']) : {};
    const baseUrl = flags['admin-url'] ?? io.env.DRAWBRIDGE_ADMIN_URL ?? dev.adminUrl ?? DEFAULT_ADMIN_URL;
    const token = flags.token ?? io.env.DRAWBRIDGE_ADMIN_TOKEN ?? dev.adminToken;
    if (!token)
      throw new UsageError('no admin token: pass --token, set DRAWBRIDGE_ADMIN_TOKEN, or --state-dir of a dev edge');
    const api = new AdminClient({ baseUrl, token });
    await action.run({ api, flags, args, json: flags.json === true, print: io.out });
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n\n${actionHelp(action)}`);
      return 2;
    }
    if (err instanceof AdminApiError) {
      const e = err.body;
      if (flags.json) io.err(`${JSON.stringify({ error: e }, null, 2)}\n`);
      else {
        io.err(
          `error ${e.code}: ${e.title}${e.detail ? `\n  ${e.detail}` : ''}\n  ${e.message}\n${e.correlationId ? `  correlation id: ${e.correlationId}\n` : ''}`,
        );
      }
      return 1;
    }
    if (err instanceof DrawbridgeError) {
      const spec = catalogue[err.code];
      if (flags.json)
        io.err(
          `${JSON.stringify({ error: { code: err.code, title: spec.title, message: spec.user, detail: err.detail?.trim() } }, null, 2)}\n`,
        );
      else io.err(`error ${err.code}: ${err.message.replace(/: \n/, ':\n')}\n  ${spec.user}\n`);
      return 1;
    }
    if (err instanceof AdminUnreachableError) {
      io.err(`error: ${err.message}\n  Is the edge running? Check --admin-url, DRAWBRIDGE_ADMIN_URL or --state-dir.\n`);
      return 1;
    }
    io.err(`error: ${(err as Error).message}\n`);
    return 1;
  }
}
