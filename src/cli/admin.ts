/**
 * `drawbridge admin …`: the admin REST API from the command line. Human output is aligned tables; `--json` prints
 * the API's JSON unchanged. Errors print the catalogue code, what happened and what to do, and exit non-zero
 * (1: the API refused or could not be reached, 2: usage).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { AdminApiError, AdminClient, AdminUnreachableError, seg } from './admin-client.ts';
import { renderGroupHealth, type GroupHealthView } from './group-health-view.ts';

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
} as const;

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>['values'];

/** A usage mistake: printed with the command's usage, exit 2. */
class UsageError extends Error {}

interface Run {
  api: AdminClient;
  flags: Flags;
  args: string[];
  json: boolean;
  print(text: string): void;
}

interface Action {
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
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return `${cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd()).join('\n')}\n`;
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
    else body.hsts = { maxAge: parseDuration(f.hsts, 'hsts'), includeSubDomains: bool('hsts-include-subdomains', f['hsts-include-subdomains']) ?? false };
  } else if (f['hsts-include-subdomains'] !== undefined) {
    throw new UsageError('--hsts-include-subdomains needs --hsts MAX-AGE');
  }
  const links = { headers: bool('translate-headers', f['translate-headers']), body: bool('translate-body', f['translate-body']) };
  if (links.headers !== undefined || links.body !== undefined) body.linkTranslation = Object.fromEntries(Object.entries(links).filter(([, v]) => v !== undefined));
  const cookie: Record<string, unknown> = {};
  if (f['cookie-persistent'] !== undefined) cookie.persistent = f['cookie-persistent'];
  if (f['cookie-lifetime'] !== undefined) cookie.lifetimeSeconds = f['cookie-lifetime'] === 'none' ? null : parseDuration(f['cookie-lifetime'], 'cookie-lifetime');
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
  const detail = ['sso-spn', 'sso-login-identity', 'sso-user-header', 'sso-email-header', 'sso-groups-header', 'sso-jwt'] as const;
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
      ([['user', 'sso-user-header'], ['email', 'sso-email-header'], ['groups', 'sso-groups-header']] as const)
        .filter(([, flag]) => f[flag] !== undefined).map(([key, flag]) => [key, f[flag]]),
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
  ['--sso-spn SPN', 'kerberos: the backend\'s SPN, e.g. HTTP/app.corp.example'],
  ['--sso-login-identity I', 'kerberos: upn (default), onPremName, upnUserPart or email'],
  ['--sso-user-header H', 'headers: header for the user\'s UPN'],
  ['--sso-email-header H', 'headers: header for the email'],
  ['--sso-groups-header H', 'headers: header for the groups (comma-separated)'],
  ['--sso-jwt true|false', 'headers: also send the edge-signed JWT (x-drawbridge-assertion)'],
  ['--hsts MAX-AGE|off', 'Strict-Transport-Security on the app host, e.g. 365d (default off)'],
  ['--hsts-include-subdomains true|false', 'HSTS: includeSubDomains (default false)'],
  ['--translate-headers true|false', 'internal URLs of the tenant\'s apps → external in response headers (default true)'],
  ['--translate-body true|false', '… and in HTML, CSS, JavaScript and JSON bodies (default false)'],
  ['--cookie-persistent user|always|never', 'app session cookie: persistent when the user stays signed in (default), always, never'],
  ['--cookie-lifetime D|none', 'app session lifetime cap, e.g. 8h (default none: the sign-in session\'s)'],
  ['--cookie-samesite lax|strict|none', 'app session cookie SameSite (default lax)'],
  ['--enabled true|false', 'switch the app on or off'],
];

async function groupNames(r: Run): Promise<Map<string, string>> {
  const groups = await r.api.request<Items>('GET', `${tenantPath(r)}/connector-groups`);
  return new Map(groups.items.map((g) => [g.id, g.name]));
}

const resources: Record<string, Resource> = {
  tenants: {
    summary: 'Tenants: the data boundary (an organisation)',
    actions: {
      list: {
        usage: 'tenants list',
        summary: 'List tenants',
        async run(r) {
          const res = await r.api.request<Items>('GET', '/tenants');
          emit(r, res, () => table(['NAME', 'ID', 'DISPLAY NAME', 'CREATED'], res.items.map((t) => [t.name, t.id, t.displayName as string, t.createdAt as string])));
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
          const body = { name: arg(r, 0, 'tenant NAME'), ...(r.flags['display-name'] ? { displayName: r.flags['display-name'] } : {}) };
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
          emit(r, res, () => table(['NAME', 'ID', 'CREATED'], res.items.map((g) => [g.name, g.id, g.createdAt as string])));
        },
      },
      health: {
        usage: 'groups health [G] --tenant T',
        summary: 'Connectors, tunnels, health, RTT, in-flight streams and versions per group; flags groups with fewer than two healthy connectors',
        async run(r) {
          const g = r.args[0];
          const res = g
            ? { items: [await r.api.request<GroupHealthView>('GET', `${tenantPath(r)}/connector-groups/${seg(g)}/health`)] }
            : await r.api.request<{ items: GroupHealthView[] }>('GET', `${tenantPath(r)}/group-health`);
          emit(r, res, () => renderGroupHealth(res.items));
        },
      },
      create: {
        usage: 'groups create NAME --tenant T',
        summary: 'Create a connector group',
        async run(r) {
          const res = await r.api.request<Obj>('POST', `${tenantPath(r)}/connector-groups`, { name: arg(r, 0, 'group NAME') });
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
  tokens: {
    summary: 'Enrollment tokens: one-time, expiring secrets that register a connector into a group',
    actions: {
      create: {
        usage: 'tokens create --tenant T --group G [--ttl 1h]',
        summary: 'Create a token (shown once)',
        flags: [['--group G', 'connector group name or id'], ['--ttl D', 'lifetime: 90s, 30m, 1h (default), 7d (max)']],
        async run(r) {
          const body = { groupId: need(r, 'group', 'the connector group'), ...(r.flags.ttl ? { ttlSeconds: parseDuration(r.flags.ttl) } : {}) };
          const res = await r.api.request<Obj & { token: string; expiresAt: string }>('POST', `${tenantPath(r)}/enrollment-tokens`, body);
          emit(r, res, () =>
            `${res.token}\n\nThis token is shown once. It registers one connector and expires at ${res.expiresAt}.\n` +
            `On the connector host: drawbridge connector register --token <token>\n`);
        },
      },
      list: {
        usage: 'tokens list --tenant T',
        summary: 'List tokens (never their secret)',
        async run(r) {
          const res = await r.api.request<Items>('GET', `${tenantPath(r)}/enrollment-tokens`);
          const names = r.json ? new Map<string, string>() : await groupNames(r);
          const now = Date.now();
          emit(r, res, () => table(['ID', 'GROUP', 'STATE', 'EXPIRES', 'CONNECTOR'], res.items.map((t) => [
            t.id, names.get(t.groupId as string) ?? (t.groupId as string),
            t.usedAt ? 'used' : Date.parse(t.expiresAt as string) <= now ? 'expired' : 'valid', t.expiresAt as string, t.connectorId as string | null,
          ])));
        },
      },
    },
  },
  apps: {
    summary: 'Apps: internal web applications published through the edge',
    actions: {
      list: {
        usage: 'apps list --tenant T',
        summary: 'List apps',
        async run(r) {
          const res = await r.api.request<Items>('GET', `${tenantPath(r)}/apps`);
          const names = r.json ? new Map<string, string>() : await groupNames(r);
          emit(r, res, () => table(['NAME', 'EXTERNAL URL', 'INTERNAL URL', 'GROUP', 'PRE-AUTH', 'ENABLED'], res.items.map((a) => [
            a.name, a.externalUrl as string, a.internalUrl as string, names.get(a.groupId as string) ?? (a.groupId as string), a.preAuth as string, a.enabled ? 'yes' : 'no',
          ])));
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
          const res = await r.api.request<Obj>('PATCH', `${tenantPath(r)}/apps/${seg(arg(r, 0, 'app name or id'))}`, body);
          emit(r, res, () => fields(res));
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
          const res = await r.api.request<Items<Obj & { live: Record<string, unknown> }>>('GET', `${tenantPath(r)}/connectors${q}`);
          const names = r.json ? new Map<string, string>() : await groupNames(r);
          emit(r, res, () => table(['NAME', 'ID', 'GROUP', 'STATUS', 'TUNNELS', 'IN FLIGHT', 'ADDRESS', 'VERSION', 'LAST SEEN'], res.items.map((c) => [
            c.name, c.id, names.get(c.groupId as string) ?? (c.groupId as string), c.live.status as string, c.live.tunnels as number, c.live.inFlight as number,
            (c.live.address ?? c.lastAddress) as string | null, (c.live.version ?? c.version) as string | null, c.lastSeenAt as string | null,
          ])));
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
          const res = await r.api.request<Obj>('PATCH', `${tenantPath(r)}/connectors/${seg(arg(r, 0, 'connector id'))}`, { enabled: true });
          emit(r, res, () => `Enabled connector ${res.name} (${res.id}).\n`);
        },
      },
      disable: {
        usage: 'connectors disable ID --tenant T',
        summary: 'Refuse the connector and drop its tunnels now',
        async run(r) {
          const res = await r.api.request<Obj>('PATCH', `${tenantPath(r)}/connectors/${seg(arg(r, 0, 'connector id'))}`, { enabled: false });
          emit(r, res, () => `Disabled connector ${res.name} (${res.id}); its tunnels were dropped.\n`);
        },
      },
      update: {
        usage: 'connectors update ID --tenant T [--name NEW] [--group G]',
        summary: 'Rename a connector or move it to another group',
        flags: [['--name NEW', 'rename'], ['--group G', 'move to this group']],
        async run(r) {
          const body = { ...(r.flags.name ? { name: r.flags.name } : {}), ...(r.flags.group ? { groupId: r.flags.group } : {}) };
          if (Object.keys(body).length === 0) throw new UsageError('nothing to change: give --name or --group');
          const res = await r.api.request<Obj>('PATCH', `${tenantPath(r)}/connectors/${seg(arg(r, 0, 'connector id'))}`, body);
          emit(r, res, () => fields(res));
        },
      },
      'renew-certificate': {
        usage: 'connectors renew-certificate ID --tenant T',
        summary: 'Renew the connector\'s certificate now over its tunnel (the edge also does it before expiry)',
        async run(r) {
          const c = arg(r, 0, 'connector id');
          const res = await r.api.request<Obj>('POST', `${tenantPath(r)}/connectors/${seg(c)}/renew-certificate`);
          emit(r, res, () => `Renewed the certificate of connector ${c}: serial ${res.serial}, valid until ${res.notAfter}. The connector redials its tunnels with it now.\n`);
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
          emit(r, res, () => table(['ID', 'URL', 'VERSION', 'STARTED', 'LAST SEEN', 'IN FLIGHT', 'TUNNELS', 'PER CONNECTOR'], res.items.map((n) => [
            `${n.id as string}${n.self ? ' *' : ''}`, n.advertise as string, n.version as string, n.startedAt as string, n.lastSeenAt as string, n.inFlight as number,
            n.tunnels.reduce((sum, t) => sum + t.tunnels, 0), n.tunnels.map((t) => `${t.connectorId}:${t.tunnels}`).join(' ') || '-',
          ])) + (res.items.some((n) => n.self) ? '\n* the node that answered\n' : ''));
        },
      },
    },
  },
  audit: {
    summary: 'The tenant\'s audit log, newest first',
    defaultAction: 'list',
    actions: {
      list: {
        usage: 'audit --tenant T [--action A] [--limit N] [--cursor C]',
        summary: 'Show audit events',
        flags: [['--action A', 'exact action, or a prefix ending in . (app.)'], ['--limit N', 'events per page (1–500, default 50)'], ['--cursor C', 'continue from a previous page']],
        async run(r) {
          const q = new URLSearchParams();
          if (r.flags.action) q.set('action', r.flags.action);
          if (r.flags.limit) q.set('limit', r.flags.limit);
          if (r.flags.cursor) q.set('cursor', r.flags.cursor);
          const qs = q.size ? `?${q}` : '';
          const res = await r.api.request<Items<Obj> & { next: string | null }>('GET', `${tenantPath(r)}/audit-log${qs}`);
          emit(r, res, () =>
            table(['TIME', 'ACTOR', 'ACTION', 'TARGET', 'DETAIL'], res.items.map((e) => [e.time as string, e.actor as string, e.action as string, e.target as string | null, JSON.stringify(e.detail)])) +
            (res.next ? `\nMore: drawbridge admin audit --tenant ${r.flags.tenant} --cursor ${res.next}\n` : ''));
        },
      },
    },
  },
};

// --- help ---

const GLOBAL_HELP = `Global options:
  --admin-url URL     admin API (env DRAWBRIDGE_ADMIN_URL; default ${DEFAULT_ADMIN_URL})
  --token TOKEN       admin bearer token (env DRAWBRIDGE_ADMIN_TOKEN)
  --state-dir D       read adminUrl and adminToken from D/dev.json (drawbridge dev)
  --json              print the API's JSON instead of tables
  -h, --help          this help
`;

function topHelp(): string {
  const width = Math.max(...Object.keys(resources).map((k) => k.length));
  return `Usage: drawbridge admin <command> [action] [options]

Manage tenants, connector groups, enrollment tokens, apps and connectors, and list edge nodes, through the edge's admin API.

Commands:
${Object.entries(resources).map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`).join('\n')}

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
    throw new UsageError(`--state-dir: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** `argv` is what follows `drawbridge admin`. `io` is for tests. Returns the exit code. */
export async function runAdmin(argv: string[], io: AdminIo = defaultIo): Promise<number> {
  let flags: Flags;
  let positionals: string[];
  try {
    ({ values: flags, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true }));
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
    if (!token) throw new UsageError('no admin token: pass --token, set DRAWBRIDGE_ADMIN_TOKEN, or --state-dir of a dev edge');
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
        io.err(`error ${e.code}: ${e.title}${e.detail ? `\n  ${e.detail}` : ''}\n  ${e.message}\n${e.correlationId ? `  correlation id: ${e.correlationId}\n` : ''}`);
      }
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
