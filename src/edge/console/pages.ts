/**
 * The console's pages: each reads the admin API (admin-client.ts) with the administrator's authority and renders
 * HTML; each action posts a form, calls one API route, and redirects back (303) with a fixed message, or renders the
 * page again with the API's error code and detail.
 */
import type { Tenant } from '../../store/types.ts';
import type { Administrator, ApiAnswer } from './admin-client.ts';
import { stackedBarChart } from './chart.ts';
import { actionButton, badge, csrfField, e, options, table, when } from './html.ts';

type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface PageCtx {
  admin: Administrator;
  tenant: Tenant;
  csrf: string;
  query: URLSearchParams;
  /** `/t/<tenant>/` */
  base: string;
  /** The admin API under `/tenants/<this tenant>`. */
  api<T = unknown>(method: Method, rest: string, body?: unknown): Promise<ApiAnswer<T>>;
  /** The admin API outside any tenant (edge nodes). */
  apiRoot<T = unknown>(method: Method, path: string): Promise<ApiAnswer<T>>;
}

export interface Page {
  title: string;
  body: string;
  notice?: { kind: 'ok' | 'bad' | 'warn'; html: string } | null;
}

/** An API failure while building a page or doing an action: shown with its code. */
export class ApiFailure extends Error {
  readonly answer: ApiAnswer;
  constructor(answer: ApiAnswer) {
    super(answer.error?.code ?? `HTTP ${answer.status}`);
    this.answer = answer;
  }
}

export function failureHtml(a: ApiAnswer): string {
  const err = a.error;
  return `<strong>${e(err?.title ?? 'The request failed')}</strong> <code>${e(err?.code ?? a.status)}</code>${err?.detail ? `<br>${e(err.detail)}` : ''}${err?.correlationId ? `<br><span class="muted">Correlation id <code>${e(err.correlationId)}</code></span>` : ''}`;
}

async function need<T>(p: Promise<ApiAnswer<T>>): Promise<T> {
  const a = await p;
  if (!a.ok) throw new ApiFailure(a);
  return a.body;
}

/** A part of a page the administrator's role may not read: a note with the API's code instead of failing the page. */
async function part<T>(
  p: Promise<ApiAnswer<T>>,
): Promise<{ value: T; refused: null } | { value: null; refused: string }> {
  const a = await p;
  if (a.ok) return { value: a.body, refused: null };
  if (a.status === 403) return { value: null, refused: a.error?.code ?? 'HTTP 403' };
  throw new ApiFailure(a);
}

const notForRole = (what: string, code: string): string =>
  `<p class="muted">${e(what)} not available to your role (<code>${e(code)}</code>).</p>`;

const items = async <T>(c: PageCtx, rest: string): Promise<T[]> =>
  (await need(c.api<{ items: T[] }>('GET', rest))).items;
/** A list the role may not read (an app admin's connector groups and directory): empty, the page still renders. */
const itemsIfAllowed = async <T>(c: PageCtx, rest: string): Promise<T[]> =>
  (await part(c.api<{ items: T[] }>('GET', rest))).value?.items ?? [];

/** Messages after a successful action (fixed texts: nothing from the URL is echoed). */
export const DONE: Record<string, string> = {
  'app-published': 'The app is published.',
  'app-saved': 'The app is saved.',
  'app-deleted': 'The app is unpublished.',
  'cert-renewed': 'The connector has a new certificate.',
  'connector-saved': 'The connector is saved.',
  'group-created': 'The group is created.',
  'token-created': 'An enrollment token is created.',
  'user-created': 'The user is created.',
  'user-saved': 'The user is saved.',
  'sessions-revoked': 'Every session of the user has ended.',
  'user-unlocked': 'The user is unlocked.',
  'member-added': 'The member is added.',
  'member-removed': 'The member is removed.',
  'seats-saved': 'The seats are saved.',
  'licence-assigned': 'The licence is assigned.',
  'licence-unassigned': 'The licence assignment is removed.',
  assigned: 'The app is assigned.',
  unassigned: 'The assignment is removed.',
  'policy-saved': 'The policy is saved.',
};

// ---------------------------------------------------------------- shared shapes (what the API answers)

interface GroupHealth {
  id: string;
  name: string;
  healthyConnectors: number;
  atRisk: boolean;
  warnings: string[];
  inFlight: number;
  connectors: {
    id: string;
    name: string;
    enabled: boolean;
    state: string;
    version: string | null;
    hostname: string | null;
    address: string | null;
    connectedSince: string | null;
    lastSeenAt: string | null;
    healthyTunnels: number;
    /** Connector processes holding its tunnels (connector run --workers N). */
    workers: number;
    rttMs: number | null;
    inFlight: number;
    tunnels: { rttMs?: number | null; health?: string; inFlight?: number }[];
  }[];
  apps: { id: string; name: string; enabled: boolean; unreachableFrom: string[] }[];
}
interface AppRow {
  id: string;
  name: string;
  externalUrl: string;
  internalUrl: string;
  groupId: string;
  preAuth: string;
  enabled: boolean;
  backendTimeout: number;
  tlsVerify: boolean;
}
interface Group {
  id: string;
  name: string;
}
interface User {
  id: string;
  upn: string;
  displayName: string;
  enabled: boolean;
  email?: string | null;
  lockedUntil?: string | null;
}
interface UserGroup {
  id: string;
  name: string;
  description?: string | null;
}
interface SigninRow {
  id: string;
  time: string;
  event: string;
  result: string;
  code: string | null;
  username: string | null;
  appId: string | null;
  clientIp: string | null;
  authMethod: string | null;
  mfaMethod: string | null;
  correlationId: string | null;
}

function stateBadge(state: string): string {
  if (state === 'healthy') return badge('ok', 'healthy');
  if (state === 'disabled') return badge('off', 'disabled');
  if (state === 'disconnected') return badge('bad', 'disconnected');
  return badge('warn', state);
}

function groupCard(g: GroupHealth): string {
  const total = g.connectors.filter((c) => c.enabled).length;
  const status =
    g.healthyConnectors === 0 ? badge('bad', 'down') : g.atRisk ? badge('warn', 'at risk') : badge('ok', 'healthy');
  return `<article class="card${g.healthyConnectors === 0 ? ' down' : g.atRisk ? ' risk' : ''}" aria-labelledby="grp-${e(g.id)}">
<h3 id="grp-${e(g.id)}">${e(g.name)} ${status}</h3>
<p><span class="stat">${g.healthyConnectors}</span> of ${total} connectors healthy · ${g.inFlight} in flight</p>
${g.warnings.length ? `<ul class="plain">${g.warnings.map((w) => `<li>${badge('warn', 'warning')} ${e(w)}</li>`).join('')}</ul>` : '<p class="muted">No warnings.</p>'}
<ul class="plain">${g.connectors.map((c) => `<li>${e(c.name)}: ${stateBadge(c.state)}</li>`).join('')}</ul>
</article>`;
}

function appStatus(app: AppRow, health: GroupHealth[]): string {
  if (!app.enabled) return badge('off', 'disabled');
  const g = health.find((h) => h.id === app.groupId);
  if (!g || g.healthyConnectors === 0) return badge('bad', 'down: no healthy connector');
  const a = g.apps.find((x) => x.id === app.id);
  if (a && a.unreachableFrom.length > 0) return badge('warn', 'backend unreachable');
  return badge('ok', 'up');
}

// ---------------------------------------------------------------- overview

export async function overviewPage(c: PageCtx): Promise<Page> {
  const [healthPart, appsPart, failuresPart, denialsPart, edges] = await Promise.all([
    part(c.api<{ items: GroupHealth[] }>('GET', '/group-health')),
    part(c.api<{ items: AppRow[] }>('GET', '/apps')),
    part(c.api<{ items: SigninRow[] }>('GET', '/signin-log?result=failure&limit=10')),
    part(c.api<{ items: SigninRow[] }>('GET', '/signin-log?result=denied&limit=10')),
    c.apiRoot<{
      items: {
        id: string;
        advertise: string;
        version: string;
        startedAt: string;
        lastSeenAt?: string;
        inFlight?: number;
        self?: boolean;
        tunnels?: { tunnels: number }[];
      }[];
    }>('GET', '/edges'),
  ]);
  const health = healthPart.value?.items ?? [];
  const apps = appsPart.value?.items ?? [];
  const recent = [...(failuresPart.value?.items ?? []), ...(denialsPart.value?.items ?? [])]
    .sort((a, b) => b.time.localeCompare(a.time))
    .slice(0, 10);
  const appName = new Map(apps.map((a) => [a.id, a.name]));
  const groupName = new Map(health.map((g) => [g.id, g.name]));
  const atRisk = health.filter((g) => g.atRisk);
  const body = `
<section id="health" data-live aria-live="polite" aria-labelledby="health-h">
<h2 id="health-h">Connector groups</h2>
${atRisk.length ? `<div class="alert warn" role="status">${atRisk.length} of ${health.length} connector groups at risk: ${atRisk.map((g) => e(g.name)).join(', ')}</div>` : ''}
${healthPart.refused ? notForRole('Connector health is', healthPart.refused) : `<div class="cards">${health.map(groupCard).join('') || '<p class="muted">No connector groups yet.</p>'}</div>`}
<h2 id="apps-h">Apps</h2>
${
  appsPart.refused
    ? notForRole('Apps are', appsPart.refused)
    : table(
        'Apps and their status',
        ['App', 'External URL', 'Group', 'Pre-authentication', 'Status'],
        apps.map((a) => [
          `<a href="${c.base}apps/${e(a.id)}">${e(a.name)}</a>`,
          `<a href="${e(a.externalUrl)}/">${e(a.externalUrl)}</a>`,
          e(groupName.get(a.groupId) ?? a.groupId),
          e(a.preAuth),
          appStatus(a, health),
        ]),
        { empty: 'No apps published yet.' },
      )
}
</section>
<h2>Recent sign-in failures</h2>
${
  (failuresPart.refused ?? denialsPart.refused)
    ? notForRole('The sign-in log is', (failuresPart.refused ?? denialsPart.refused) as string)
    : `${table(
        'Recent sign-in failures and denials',
        ['Time', 'User', 'App', 'Result', 'Code', 'Address'],
        recent.map((r) => [
          when(r.time),
          e(r.username ?? '—'),
          e(r.appId ? (appName.get(r.appId) ?? (r.appId === 'console' ? 'admin console' : r.appId)) : '—'),
          badge(r.result === 'denied' ? 'warn' : 'bad', r.result),
          `<code>${e(r.code ?? '')}</code>`,
          e(r.clientIp ?? ''),
        ]),
        { empty: 'No failed or denied sign-ins recently.' },
      )}
<p><a href="${c.base}signin-log?result=failure">All failures in the sign-in log</a></p>`
}
<h2>Edge nodes</h2>
${
  edges.ok
    ? table(
        'Edge nodes',
        ['Node', 'Address', 'Version', 'Started', 'In flight', 'Tunnels'],
        edges.body.items.map((n) => [
          `${e(n.id)}${n.self ? ' <span class="muted">(this node)</span>' : ''}`,
          `<code>${e(n.advertise)}</code>`,
          e(n.version),
          when(n.startedAt),
          String(n.inFlight ?? 0),
          String((n.tunnels ?? []).reduce((s, t) => s + t.tunnels, 0)),
        ]),
        { numeric: [4, 5] },
      )
    : `<p class="muted">Edge nodes are not available to you (${e(edges.error?.code)}).</p>`
}
`;
  return { title: 'Overview', body };
}

// ---------------------------------------------------------------- apps

function appForm(c: PageCtx, groups: Group[], app: AppRow | null): string {
  const action = app ? `${c.base}apps/${e(app.id)}/save` : `${c.base}apps/publish`;
  return `<form method="post" action="${action}" class="grid" aria-label="${app ? 'Edit app' : 'Publish an app'}">
${csrfField(c.csrf)}
${app ? '' : `<label for="f-name">Name</label><input type="text" id="f-name" name="name" required pattern="[a-z0-9][a-z0-9-]*" maxlength="63" aria-describedby="f-name-h"><span></span><small id="f-name-h" class="muted">Lower-case letters, digits and dashes; the default external URL is https://&lt;name&gt;-${e(c.tenant.name)}.&lt;domain&gt;</small>`}
<label for="f-internal">Internal URL</label><input type="url" id="f-internal" name="internalUrl" required value="${e(app?.internalUrl ?? '')}" placeholder="http://intranet.corp.local:8080">
<label for="f-external">External URL</label><input type="url" id="f-external" name="externalUrl" value="${e(app?.externalUrl ?? '')}" placeholder="(default)">
<label for="f-group">Connector group</label><select id="f-group" name="groupId" required>${options(
    groups.map((g) => ({ value: g.id, label: g.name })),
    app?.groupId,
  )}</select>
<label for="f-preauth">Pre-authentication</label><select id="f-preauth" name="preAuth">${options(
    [
      { value: 'idp', label: 'Sign-in required (idp)' },
      { value: 'passthrough', label: 'Passthrough' },
    ],
    app?.preAuth ?? 'idp',
  )}</select>
<label for="f-timeout">Backend timeout (s)</label><input type="number" id="f-timeout" name="backendTimeout" min="1" max="3600" value="${e(app?.backendTimeout ?? 85)}">
${app ? `<span>Enabled</span><label><input type="checkbox" name="enabled" value="1"${app.enabled ? ' checked' : ''}> Serve this app</label>` : ''}
<div class="actions"><button type="submit">${app ? 'Save' : 'Publish'}</button></div>
</form>`;
}

export async function appsPage(c: PageCtx): Promise<Page> {
  const [apps, groupsPart, health] = await Promise.all([
    items<AppRow>(c, '/apps'),
    part(c.api<{ items: Group[] }>('GET', '/connector-groups')),
    itemsIfAllowed<GroupHealth>(c, '/group-health'),
  ]);
  const groups = groupsPart.value?.items ?? [];
  const groupName = new Map(groups.map((g) => [g.id, g.name]));
  const body = `
<section id="apps-live" data-live aria-live="polite">
${table(
  'Published apps',
  ['App', 'External URL', 'Internal URL', 'Group', 'Pre-authentication', 'Status'],
  apps.map((a) => [
    `<a href="${c.base}apps/${e(a.id)}">${e(a.name)}</a>`,
    `<a href="${e(a.externalUrl)}/">${e(a.externalUrl)}</a>`,
    `<code>${e(a.internalUrl)}</code>`,
    e(groupName.get(a.groupId) ?? a.groupId),
    e(a.preAuth),
    appStatus(a, health),
  ]),
  { empty: 'No apps published yet.' },
)}
</section>
<h2 id="publish">Publish an app</h2>
${groupsPart.refused ? notForRole('Publishing an app is', groupsPart.refused) : groups.length ? appForm(c, groups, null) : '<p>Create a connector group first (Connectors).</p>'}
<p class="muted">Status comes from the connectors' own probes of each app's internal address (a TCP connect every few seconds); an app's page has "Test connection", an HTTP request from a connector now.</p>`;
  return { title: 'Apps', body };
}

interface ConnectionTest {
  connectorId: string;
  connectorName?: string;
  url: string;
  status: number | null;
  ms: number;
  error: string | null;
  checkedAt: string;
}

/** The answer of "Test connection", for the app page: the backend's status and time, or why it did not answer. */
function connectionTestHtml(a: ApiAnswer): string {
  if (!a.ok) return `<div class="alert bad" role="alert">Test connection failed: ${failureHtml(a)}</div>`;
  const t = a.body as ConnectionTest;
  const from = e(t.connectorName ?? t.connectorId);
  return t.status !== null
    ? `<div class="alert ${t.status < 500 ? 'ok' : 'warn'}" role="status">${from} reached <code>${e(t.url)}</code>: HTTP <strong>${t.status}</strong> in ${t.ms} ms (${when(t.checkedAt)}).</div>`
    : `<div class="alert bad" role="status">${from} could not reach <code>${e(t.url)}</code>: <code>${e(t.error ?? 'no answer')}</code> after ${t.ms} ms (${when(t.checkedAt)}).</div>`;
}

export async function appPage(c: PageCtx, appId: string, tested?: ApiAnswer): Promise<Page> {
  const [app, groups, health] = await Promise.all([
    need(c.api<AppRow>('GET', `/apps/${encodeURIComponent(appId)}`)),
    itemsIfAllowed<Group>(c, '/connector-groups'),
    itemsIfAllowed<GroupHealth>(c, '/group-health'),
  ]);
  const g = health.find((h) => h.id === app.groupId);
  const probes = g
    ? g.connectors
        .filter((x) => x.state === 'healthy')
        .map(
          (x) =>
            `<li>${e(x.name)}: ${g.apps.find((a) => a.id === app.id)?.unreachableFrom.includes(x.id) ? badge('bad', 'unreachable') : badge('ok', 'reachable')}</li>`,
        )
        .join('')
    : '';
  const body = `
<p>Status: ${appStatus(app, health)} · <a href="${e(app.externalUrl)}/">${e(app.externalUrl)}</a></p>
<h2>Backend reachability</h2>
<section id="probe" data-live aria-live="polite">${probes ? `<ul class="plain">${probes}</ul>` : '<p class="muted">No healthy connector reports on this app.</p>'}</section>
<h2 id="test-h">Test connection</h2>
<p class="muted">A connector of the app's group requests the internal URL now (an HTTP GET, no user identity) and tells what it got.</p>
<div id="test-result">${tested ? connectionTestHtml(tested) : ''}</div>
${actionButton(c.csrf, `${c.base}apps/${e(app.id)}/test`, 'Test connection', { accessibleName: `Test connection to ${app.name}` })}
<h2>Settings</h2>
${appForm(c, groups, app)}
<h2>Unpublish</h2>
${actionButton(c.csrf, `${c.base}apps/${e(app.id)}/delete`, `Unpublish ${app.name}`, { danger: true, confirm: `Unpublish ${app.name}? Users lose access at once.` })}`;
  return { title: `App ${app.name}`, body };
}

function appBody(form: URLSearchParams, creating: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    internalUrl: form.get('internalUrl') ?? '',
    groupId: form.get('groupId') ?? '',
    preAuth: form.get('preAuth') ?? 'idp',
  };
  if (creating) body.name = form.get('name') ?? '';
  const external = form.get('externalUrl')?.trim();
  if (external) body.externalUrl = external;
  const timeout = form.get('backendTimeout');
  if (timeout) body.backendTimeout = Number(timeout);
  if (!creating) body.enabled = form.get('enabled') === '1';
  return body;
}

// ---------------------------------------------------------------- connectors

export async function connectorsPage(c: PageCtx): Promise<Page> {
  const [health, groups, tokens] = await Promise.all([
    items<GroupHealth>(c, '/group-health'),
    items<Group>(c, '/connector-groups'),
    c.api<{ items: { id: string; groupId: string; expiresAt: string; usedAt?: string | null }[] }>(
      'GET',
      '/enrollment-tokens',
    ),
  ]);
  const created = c.query.get('token');
  const sections = health
    .map(
      (g) => `
<h2 id="g-${e(g.id)}">${e(g.name)} ${g.healthyConnectors === 0 ? badge('bad', 'down') : g.atRisk ? badge('warn', 'at risk') : badge('ok', 'healthy')}</h2>
${g.warnings.map((w) => `<div class="alert warn" role="status">${e(w)}</div>`).join('')}
${table(
  `Connectors of ${g.name}`,
  ['Connector', 'State', 'Version', 'Tunnels', 'RTT (ms)', 'In flight', 'Address', 'Connected since', 'Actions'],
  g.connectors.map((x) => [
    `${e(x.name)}<br><code class="muted">${e(x.id)}</code>`,
    stateBadge(x.state),
    e(x.version ?? '—'),
    `${x.healthyTunnels} of ${x.tunnels.length}${x.workers > 1 ? ` <span class="muted">over ${x.workers} worker processes</span>` : ''}`,
    x.rttMs === null ? '—' : x.rttMs.toFixed(1),
    String(x.inFlight),
    e(x.address ?? '—'),
    when(x.connectedSince),
    [
      actionButton(c.csrf, `${c.base}connectors/${e(x.id)}/renew`, 'Renew certificate', {
        accessibleName: `Renew certificate of ${x.name}`,
      }),
      actionButton(c.csrf, `${c.base}connectors/${e(x.id)}/enabled`, x.enabled ? 'Disable' : 'Enable', {
        fields: { enabled: x.enabled ? '0' : '1' },
        danger: x.enabled,
        confirm: x.enabled ? `Disable ${x.name}? Its tunnels drop at once.` : undefined,
        accessibleName: `${x.enabled ? 'Disable' : 'Enable'} ${x.name}`,
      }),
      groups.length > 1
        ? `<form method="post" action="${c.base}connectors/${e(x.id)}/move" class="inline">${csrfField(c.csrf)}<label class="muted" for="mv-${e(x.id)}">Move to</label> <select id="mv-${e(x.id)}" name="groupId">${options(groups.filter((gr) => gr.id !== g.id).map((gr) => ({ value: gr.id, label: gr.name })))}</select> <button type="submit" class="small secondary">Move</button></form>`
        : '',
    ].join(' '),
  ]),
  {
    numeric: [4, 5],
    empty: 'No connectors in this group yet: create an enrollment token below and run drawbridge connector register.',
  },
)}`,
    )
    .join('');
  const body = `
<section id="groups-live" data-live aria-live="polite">${sections || '<p class="muted">No connector groups yet.</p>'}</section>
<p class="muted">Draining a connector is done on its host (SIGTERM drains it; no request is lost). The admin API has no drain route yet, so the console offers none; disabling drops its tunnels at once.</p>
<h2>New enrollment token</h2>
${created ? `<div class="alert ok" role="status">Enrollment token (shown once): <code id="new-token">${e(created)}</code></div>` : ''}
<form method="post" action="${c.base}connectors/token" class="row" aria-label="New enrollment token">${csrfField(c.csrf)}
<label for="tk-group">Connector group<select id="tk-group" name="groupId">${options(groups.map((g) => ({ value: g.id, label: g.name })))}</select></label>
<button type="submit">Create token</button></form>
${
  tokens.ok
    ? table(
        'Enrollment tokens',
        ['Token id', 'Group', 'Expires', 'Used'],
        tokens.body.items.map((t) => [
          `<code>${e(t.id)}</code>`,
          e(groups.find((g) => g.id === t.groupId)?.name ?? t.groupId),
          when(t.expiresAt),
          t.usedAt ? when(t.usedAt) : 'not yet',
        ]),
      )
    : ''
}
<h2>New connector group</h2>
<form method="post" action="${c.base}connectors/group" class="row" aria-label="New connector group">${csrfField(c.csrf)}
<label for="ng-name">Name<input type="text" id="ng-name" name="name" required maxlength="63"></label><button type="submit">Create group</button></form>`;
  return { title: 'Connectors and groups', body };
}

// ---------------------------------------------------------------- users, groups, licences, assignments

export async function usersPage(c: PageCtx): Promise<Page> {
  const search = c.query.get('search') ?? '';
  const users = await items<User>(c, `/users${search ? `?search=${encodeURIComponent(search)}` : ''}`);
  const body = `
<form method="get" class="row" role="search" aria-label="Find users"><label for="u-search">Search<input type="text" id="u-search" name="search" value="${e(search)}"></label><button type="submit" class="secondary">Search</button></form>
${table(
  'Users',
  ['User', 'Name', 'State', 'Actions'],
  users.map((u) => [
    `<code>${e(u.upn)}</code>`,
    e(u.displayName),
    u.enabled ? badge('ok', 'enabled') : badge('off', 'disabled'),
    [
      actionButton(c.csrf, `${c.base}users/${e(u.id)}/enabled`, u.enabled ? 'Disable' : 'Enable', {
        fields: { enabled: u.enabled ? '0' : '1' },
        danger: u.enabled,
        confirm: u.enabled ? `Disable ${u.upn}? Their sessions end.` : undefined,
        accessibleName: `${u.enabled ? 'Disable' : 'Enable'} ${u.upn}`,
      }),
      actionButton(c.csrf, `${c.base}users/${e(u.id)}/revoke`, 'Revoke sessions', {
        accessibleName: `Revoke sessions of ${u.upn}`,
      }),
      actionButton(c.csrf, `${c.base}users/${e(u.id)}/unlock`, 'Unlock', { accessibleName: `Unlock ${u.upn}` }),
    ].join(' '),
  ]),
  { empty: 'No users match.' },
)}
<h2>New user</h2>
<form method="post" action="${c.base}users/create" class="grid" aria-label="New user">${csrfField(c.csrf)}
<label for="nu-upn">User name (UPN)</label><input type="text" id="nu-upn" name="upn" required maxlength="254" autocomplete="off">
<label for="nu-name">Display name</label><input type="text" id="nu-name" name="displayName" maxlength="256">
<label for="nu-pw">Password</label><input type="password" id="nu-pw" name="password" minlength="8" maxlength="1024" autocomplete="new-password">
<div class="actions"><button type="submit">Create user</button></div></form>`;
  return { title: 'Users', body };
}

export async function groupsPage(c: PageCtx): Promise<Page> {
  const [groups, users] = await Promise.all([items<UserGroup>(c, '/user-groups'), items<User>(c, '/users?limit=500')]);
  const members = await Promise.all(
    groups.map((g) => items<User>(c, `/user-groups/${encodeURIComponent(g.id)}/members`).catch(() => [] as User[])),
  );
  const userOptions = options(users.map((u) => ({ value: u.id, label: u.upn })));
  const hint = groups.some((g) => g.name === 'Drawbridge Admins')
    ? ''
    : '<div class="alert warn" role="status">No group is named <strong>Drawbridge Admins</strong>: create it and add the directory users who administer this tenant, so that they sign in to the console with their own account (and its MFA) rather than the bootstrap token.</div>';
  const body =
    hint +
    groups
      .map(
        (g, i) => `
<h2 id="ug-${e(g.id)}">${e(g.name)}</h2>
${g.description ? `<p class="muted">${e(g.description)}</p>` : ''}
${table(
  `Members of ${g.name}`,
  ['Member', 'Actions'],
  members[i].map((m) => [
    `<code>${e(m.upn)}</code>`,
    actionButton(c.csrf, `${c.base}groups/${e(g.id)}/remove`, 'Remove', {
      fields: { userId: m.id },
      danger: true,
      accessibleName: `Remove ${m.upn} from ${g.name}`,
    }),
  ]),
  { empty: 'No members.' },
)}
<form method="post" action="${c.base}groups/${e(g.id)}/add" class="row" aria-label="Add a member to ${e(g.name)}">${csrfField(c.csrf)}<label for="add-${e(g.id)}">Add member<select id="add-${e(g.id)}" name="userId">${userOptions}</select></label><button type="submit" class="secondary">Add to ${e(g.name)}</button></form>`,
      )
      .join('') +
    `
<h2>New group</h2>
<form method="post" action="${c.base}groups/create" class="row" aria-label="New group">${csrfField(c.csrf)}<label for="ngr-name">Name<input type="text" id="ngr-name" name="name" required maxlength="128"></label><label for="ngr-desc">Description<input type="text" id="ngr-desc" name="description" maxlength="256"></label><button type="submit">Create group</button></form>`;
  return { title: 'Groups', body };
}

interface Principal {
  type: string;
  id: string;
}
const principalName =
  (users: User[], groups: UserGroup[]) =>
  (p: Principal): string =>
    p.type === 'user'
      ? `user ${users.find((u) => u.id === p.id)?.upn ?? p.id}`
      : `group ${groups.find((g) => g.id === p.id)?.name ?? p.id}`;

export async function licencesPage(c: PageCtx): Promise<Page> {
  const [answer, users, groups] = await Promise.all([
    need(
      c.api<{
        items: { sku: string; seats: number; used: number }[];
        assignments: { sku: string; principal: Principal }[];
      }>('GET', '/licences'),
    ),
    items<User>(c, '/users?limit=500'),
    items<UserGroup>(c, '/user-groups'),
  ]);
  const licences = answer.items;
  const nameOf = principalName(users, groups);
  const principals = options([
    ...users.map((u) => ({ value: `user:${u.id}`, label: `user ${u.upn}` })),
    ...groups.map((g) => ({ value: `group:${g.id}`, label: `group ${g.name}` })),
  ]);
  const body = `
${table(
  'Licences',
  ['Licence', 'Seats', 'In use', 'Set seats'],
  licences.map((l) => [
    `<code>${e(l.sku)}</code>`,
    String(l.seats),
    String(l.used),
    `<form method="post" action="${c.base}licences/${e(l.sku)}/seats" class="inline">${csrfField(c.csrf)}<label class="muted" for="seats-${e(l.sku)}">Seats</label> <input type="number" id="seats-${e(l.sku)}" name="seats" min="0" value="${e(l.seats)}" style="width:7em"> <button type="submit" class="small secondary">Save</button></form>`,
  ]),
  { numeric: [1, 2] },
)}
<h2>Who holds which licence</h2>
${table(
  'Licence assignments',
  ['Licence', 'Assigned to', 'Actions'],
  answer.assignments.map((a) => [
    `<code>${e(a.sku)}</code>`,
    e(nameOf(a.principal)),
    actionButton(c.csrf, `${c.base}licences/${e(a.sku)}/unassign`, 'Remove', {
      fields: { principal: `${a.principal.type}:${a.principal.id}` },
      danger: true,
      accessibleName: `Remove ${a.sku} from ${nameOf(a.principal)}`,
    }),
  ]),
  { empty: 'No licence is assigned.' },
)}
<h2>Assign a licence</h2>
<form method="post" action="${c.base}licences/assign" class="row" aria-label="Assign a licence">${csrfField(c.csrf)}
<label for="la-sku">Licence<select id="la-sku" name="sku">${options(['free', 'basic', 'premium'].map((s) => ({ value: s, label: s })))}</select></label>
<label for="la-p">To<select id="la-p" name="principal">${principals}</select></label>
<button type="submit">Assign</button></form>`;
  return { title: 'Licences', body };
}

export async function assignmentsPage(c: PageCtx): Promise<Page> {
  const [apps, users, groups] = await Promise.all([
    items<AppRow>(c, '/apps'),
    itemsIfAllowed<User>(c, '/users?limit=500'),
    itemsIfAllowed<UserGroup>(c, '/user-groups'),
  ]);
  const idp = apps.filter((a) => a.preAuth === 'idp');
  const per = await Promise.all(
    idp.map(async (a) =>
      (await items<{ principal: Principal }>(c, `/apps/${encodeURIComponent(a.id)}/assignments`)).map(
        (x) => x.principal,
      ),
    ),
  );
  const nameOf = principalName(users, groups);
  const principals = options([
    ...groups.map((g) => ({ value: `group:${g.id}`, label: `group ${g.name}` })),
    ...users.map((u) => ({ value: `user:${u.id}`, label: `user ${u.upn}` })),
  ]);
  const body =
    idp
      .map(
        (a, i) => `
<h2>${e(a.name)}</h2>
${table(
  `Assigned to ${a.name}`,
  ['Who', 'Actions'],
  per[i].map((p) => [
    e(nameOf(p)),
    actionButton(c.csrf, `${c.base}assignments/${e(a.id)}/remove`, 'Remove', {
      fields: { principal: `${p.type}:${p.id}` },
      danger: true,
      accessibleName: `Remove ${nameOf(p)} from ${a.name}`,
    }),
  ]),
  { empty: 'Nobody is assigned.' },
)}`,
      )
      .join('') +
    `
<h2>Assign an app</h2>
${
  idp.length
    ? `<form method="post" action="${c.base}assignments/add" class="row" aria-label="Assign an app">${csrfField(c.csrf)}
<label for="as-app">App<select id="as-app" name="appId">${options(idp.map((a) => ({ value: a.id, label: a.name })))}</select></label>
<label for="as-p">To<select id="as-p" name="principal">${principals}</select></label>
<button type="submit">Assign</button></form>`
    : '<p class="muted">No app requires sign-in: passthrough apps need no assignment.</p>'
}`;
  return { title: 'Assignments', body };
}

// ---------------------------------------------------------------- conditional access

export async function policiesPage(c: PageCtx, whatIf?: { input: URLSearchParams; answer: ApiAnswer }): Promise<Page> {
  const [policies, apps, users, locations] = await Promise.all([
    items<{
      id: string;
      name: string;
      state: string;
      conditions: {
        apps: 'all' | string[];
        locations: { include: 'any' | string[]; exclude: string[] };
        platforms: string[] | null;
        signinRisk: string[] | null;
      };
      grant: {
        block: boolean;
        requireMfa: boolean;
        requirePhishingResistantMfa: boolean;
        signInFrequencyHours: number | null;
      };
    }>(c, '/policies'),
    itemsIfAllowed<AppRow>(c, '/apps'),
    itemsIfAllowed<User>(c, '/users?limit=500'),
    items<{ id: string; name: string }>(c, '/locations'),
  ]);
  const appName = new Map(apps.map((a) => [a.id, a.name]));
  const locationName = (id: string) => locations.find((l) => l.id === id)?.name ?? id;
  const where = (l: { include: 'any' | string[]; exclude: string[] }) =>
    `${l.include === 'any' ? 'anywhere' : l.include.map(locationName).join(', ')}${l.exclude.length ? ` except ${l.exclude.map(locationName).join(', ')}` : ''}`;
  const grant = (g: {
    block: boolean;
    requireMfa: boolean;
    requirePhishingResistantMfa: boolean;
    signInFrequencyHours: number | null;
  }) =>
    [
      g.block && 'block',
      g.requireMfa && 'require MFA',
      g.requirePhishingResistantMfa && 'require a passkey',
      g.signInFrequencyHours && `sign in every ${g.signInFrequencyHours} h`,
    ]
      .filter(Boolean)
      .join(', ') || 'allow';
  const w = whatIf?.input;
  let result = '';
  if (whatIf) {
    const a = whatIf.answer;
    if (!a.ok) result = `<div class="alert bad" role="alert">${failureHtml(a)}</div>`;
    else {
      const r = a.body as {
        decision: string;
        code: string | null;
        policy: { name: string } | null;
        policies: { name?: string; policyName?: string; result?: string; outcome?: string; state?: string }[];
      };
      result = `<section aria-labelledby="wi-r" id="what-if-result"><h3 id="wi-r">Result: ${r.decision === 'allow' ? badge('ok', 'allow') : badge(r.decision === 'denied' || r.decision === 'block' ? 'bad' : 'warn', r.decision)}${r.code ? ` <code>${e(r.code)}</code>` : ''}</h3>
${r.policy ? `<p>Decided by <strong>${e(r.policy.name)}</strong>.</p>` : ''}
${table(
  'Every policy evaluated',
  ['Policy', 'State', 'Result'],
  (r.policies ?? []).map((p) => [e(p.name ?? p.policyName ?? ''), e(p.state ?? ''), e(p.result ?? p.outcome ?? '')]),
  { empty: 'No policy applied.' },
)}</section>`;
    }
  }
  const body = `
${table(
  'Conditional access policies',
  ['Policy', 'State', 'Apps', 'Locations', 'Grant', 'Change state'],
  policies.map((p) => [
    e(p.name),
    p.state === 'on'
      ? badge('ok', 'on')
      : p.state === 'report-only'
        ? badge('warn', 'report-only')
        : badge('off', 'off'),
    p.conditions.apps === 'all' ? 'all apps' : e(p.conditions.apps.map((id) => appName.get(id) ?? id).join(', ')),
    e(where(p.conditions.locations)),
    e(grant(p.grant)),
    `<form method="post" action="${c.base}policies/${e(p.id)}/state" class="inline">${csrfField(c.csrf)}<label class="muted" for="ps-${e(p.id)}">State</label> <select id="ps-${e(p.id)}" name="state">${options(
      ['on', 'report-only', 'off'].map((s) => ({ value: s, label: s })),
      p.state,
    )}</select> <button type="submit" class="small secondary" aria-label="Save the state of ${e(p.name)}">Save</button></form>`,
  ]),
  { empty: 'No policies: every signed-in, assigned and licensed user gets in.' },
)}
<h2 id="what-if">What if</h2>
<p class="muted">The decision for a user and app from an address, without signing in.</p>
<form method="post" action="${c.base}policies/what-if" class="grid" aria-labelledby="what-if">${csrfField(c.csrf)}
<label for="wi-user">User</label><select id="wi-user" name="user">${options(
    users.map((u) => ({ value: u.upn, label: u.upn })),
    w?.get('user'),
  )}</select>
<label for="wi-app">App</label><select id="wi-app" name="app"><option value="">(any)</option>${options(
    apps.map((a) => ({ value: a.id, label: a.name })),
    w?.get('app'),
  )}</select>
<label for="wi-ip">Client address</label><input type="text" id="wi-ip" name="ip" value="${e(w?.get('ip') ?? '')}" placeholder="203.0.113.7">
<label for="wi-platform">Platform</label><select id="wi-platform" name="platform">${options(
    ['windows', 'macos', 'linux', 'ios', 'android', 'chromeos', 'unknown'].map((p) => ({ value: p, label: p })),
    w?.get('platform') ?? 'windows',
  )}</select>
<label for="wi-risk">Sign-in risk</label><select id="wi-risk" name="risk">${options(
    ['none', 'low', 'medium', 'high'].map((p) => ({ value: p, label: p })),
    w?.get('risk') ?? 'none',
  )}</select>
<div class="actions"><button type="submit">Evaluate</button></div></form>
${result}`;
  return { title: 'Conditional access', body };
}

// ---------------------------------------------------------------- sign-in log

const LOG_FILTERS = ['username', 'appId', 'result', 'event', 'code', 'clientIp', 'since', 'until'] as const;

/** An app admin reads the sign-in log of one of its apps at a time (the API wants `appId`): the first by default. */
function logFilters(c: PageCtx): URLSearchParams {
  if (c.admin.role !== 'app-admin' || c.query.get('appId') || c.admin.appIds.length === 0) return c.query;
  const q = new URLSearchParams(c.query);
  q.set('appId', c.admin.appIds[0]);
  return q;
}

function logQuery(q: URLSearchParams, extra: Record<string, string> = {}): string {
  const out = new URLSearchParams();
  for (const k of LOG_FILTERS) {
    const v = q.get(k)?.trim();
    if (v) out.set(k, v);
  }
  for (const [k, v] of Object.entries(extra)) out.set(k, v);
  const s = out.toString();
  return s ? `?${s}` : '';
}

export async function signinLogPage(c: PageCtx): Promise<Page> {
  const cursor = c.query.get('cursor');
  const filters = logFilters(c);
  const [page, apps] = await Promise.all([
    need(
      c.api<{ items: SigninRow[]; next: string | null }>(
        'GET',
        `/signin-log${logQuery(filters, { limit: '50', ...(cursor ? { cursor } : {}) })}`,
      ),
    ),
    itemsIfAllowed<AppRow>(c, '/apps'),
  ]);
  const appName = new Map(apps.map((a) => [a.id, a.name]));
  const q = (k: string) => e(c.query.get(k) ?? '');
  const appChoice = apps.length
    ? `<label for="sl-app">App<select id="sl-app" name="appId">${c.admin.role === 'app-admin' ? '' : '<option value="">(any)</option>'}${options(
        apps.map((a) => ({ value: a.id, label: a.name })),
        filters.get('appId'),
      )}</select></label>`
    : '';
  const body = `
<form method="get" class="row" role="search" aria-label="Filter the sign-in log">
<label for="sl-user">User<input type="text" id="sl-user" name="username" value="${q('username')}"></label>
${appChoice}
<label for="sl-result">Result<select id="sl-result" name="result"><option value="">(any)</option>${options(
    ['success', 'failure', 'denied', 'interrupted'].map((v) => ({ value: v, label: v })),
    c.query.get('result'),
  )}</select></label>
<label for="sl-event">Event<select id="sl-event" name="event"><option value="">(any)</option>${options(
    ['signin', 'mfa', 'access', 'signout', 'federation'].map((v) => ({ value: v, label: v })),
    c.query.get('event'),
  )}</select></label>
<label for="sl-code">Code<input type="text" id="sl-code" name="code" value="${q('code')}" size="18"></label>
<label for="sl-ip">Address<input type="text" id="sl-ip" name="clientIp" value="${q('clientIp')}" size="14"></label>
<label for="sl-since">Since<input type="text" id="sl-since" name="since" value="${q('since')}" placeholder="2030-01-31" size="12"></label>
<label for="sl-until">Until<input type="text" id="sl-until" name="until" value="${q('until')}" placeholder="2030-02-28" size="12"></label>
<button type="submit">Filter</button>
<a class="button secondary" href="${c.base}signin-log/export.csv${logQuery(filters)}" download>Export CSV</a>
</form>
${table(
  'Sign-in events, newest first',
  ['Time', 'Event', 'Result', 'Code', 'User', 'App', 'Address', 'Method', 'Correlation id'],
  page.items.map((r) => [
    when(r.time),
    e(r.event),
    badge(r.result === 'success' ? 'ok' : r.result === 'interrupted' ? 'warn' : 'bad', r.result),
    `<code>${e(r.code ?? '')}</code>`,
    e(r.username ?? '—'),
    e(r.appId ? (appName.get(r.appId) ?? (r.appId === 'console' ? 'admin console' : r.appId)) : '—'),
    e(r.clientIp ?? ''),
    e([r.authMethod, r.mfaMethod].filter(Boolean).join(' + ')),
    `<code class="muted">${e(r.correlationId ?? '')}</code>`,
  ]),
  { empty: 'No sign-in events match.', id: 'signin-log' },
)}
${page.next ? `<p><a href="${c.base}signin-log${logQuery(filters, { cursor: page.next })}">Older events</a></p>` : ''}`;
  return { title: 'Sign-in log', body };
}

export function signinLogExportPath(query: URLSearchParams): string {
  return `/signin-log/export${logQuery(query, { format: 'csv' })}`;
}

// ---------------------------------------------------------------- reports

const RESULT_SERIES = [
  { name: 'success', colour: '#2da44e' },
  { name: 'interrupted', colour: '#bf8700' },
  { name: 'denied', colour: '#8250df' },
  { name: 'failure', colour: '#cf222e' },
];

/** Every UTC day of the period (so the chart is a time axis), or null past three months (then days with data only). */
function daysBetween(since: string, until: string): string[] | null {
  const out: string[] = [];
  for (let t = Date.parse(since.slice(0, 10)); t <= Date.parse(until); t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
    if (out.length > 92) return null;
  }
  return out;
}

export async function reportsPage(c: PageCtx): Promise<Page> {
  const range = new URLSearchParams();
  for (const k of ['since', 'until']) {
    const v = c.query.get(k)?.trim();
    if (v) range.set(k, v);
  }
  const qs = range.toString() ? `?${range}` : '';
  const [byDay, byCode, mfa, topApps] = await Promise.all([
    need(
      c.api<{ since: string; until: string; items: { day: string; result: string; count: number }[] }>(
        'GET',
        `/reports/signins-by-day${qs}`,
      ),
    ),
    need(c.api<{ items: { code: string; count: number }[] }>('GET', `/reports/failures-by-code${qs}`)),
    need(c.api<{ items: { method: string; count: number }[] }>('GET', `/reports/mfa-methods${qs}`)),
    need(
      c.api<{ items: { appName: string | null; appId: string; total: number; allowed: number; denied: number }[] }>(
        'GET',
        `/reports/top-apps${qs}`,
      ),
    ),
  ]);
  const days = daysBetween(byDay.since, byDay.until) ?? [...new Set(byDay.items.map((r) => r.day))].sort();
  const values = days.map((d) =>
    RESULT_SERIES.map((s) =>
      byDay.items.filter((r) => r.day === d && r.result === s.name).reduce((a, r) => a + r.count, 0),
    ),
  );
  const chart = stackedBarChart({
    id: 'chart-signins',
    title: `Sign-ins per day by result, ${byDay.since.slice(0, 10)} to ${byDay.until.slice(0, 10)} (UTC)`,
    categories: days,
    series: RESULT_SERIES,
    values,
  });
  const codeChart = stackedBarChart({
    id: 'chart-codes',
    title: 'Failures and denials by code',
    categories: byCode.items.map((r) => r.code),
    series: [{ name: 'failures and denials', colour: '#cf222e' }],
    values: byCode.items.map((r) => [r.count]),
  });
  const csv = (name: string) => `<a href="${c.base}reports/${name}.csv${qs}" download>CSV</a>`;
  const body = `
<form method="get" class="row" aria-label="Report period"><label for="r-since">Since<input type="text" id="r-since" name="since" value="${e(c.query.get('since') ?? '')}" placeholder="${e(byDay.since.slice(0, 10))}" size="12"></label><label for="r-until">Until<input type="text" id="r-until" name="until" value="${e(c.query.get('until') ?? '')}" placeholder="${e(byDay.until.slice(0, 10))}" size="12"></label><button type="submit">Show</button></form>
<h2>Sign-ins by day</h2>
${chart}
${table(
  "Sign-ins per day (the chart's data)",
  ['Day', ...RESULT_SERIES.map((s) => s.name), 'Total'],
  days
    .map((d, i) => [e(d), ...values[i].map(String), String(values[i].reduce((a, b) => a + b, 0))])
    .filter((row) => row.at(-1) !== '0'),
  { numeric: [1, 2, 3, 4, 5], empty: 'No sign-ins in this period.', id: 'table-signins' },
)}
<p class="muted">The table lists the days with sign-ins.</p>
<p>${csv('signins-by-day')}</p>
<h2>Failures by code</h2>
${codeChart}
${table(
  'Failures and denials by code',
  ['Code', 'Count'],
  byCode.items.map((r) => [`<code>${e(r.code)}</code>`, String(r.count)]),
  { numeric: [1], empty: 'No failures in this period.' },
)}
<p>${csv('failures-by-code')}</p>
<h2>Second factors</h2>
${table(
  'Second factors used',
  ['Method', 'Count'],
  mfa.items.map((r) => [e(r.method), String(r.count)]),
  { numeric: [1], empty: 'No second factor used in this period.' },
)}
<h2>Apps</h2>
${table(
  'Apps by access decisions',
  ['App', 'Total', 'Allowed', 'Denied'],
  topApps.items.map((r) => [
    e(r.appName ?? (r.appId === 'console' ? 'admin console' : r.appId)),
    String(r.total),
    String(r.allowed),
    String(r.denied),
  ]),
  { numeric: [1, 2, 3], empty: 'No access decisions in this period.' },
)}
<p class="muted">More reports (risky sign-ins, top users, countries, named locations) are in the API and the CLI: <code>drawbridge admin reports</code>.</p>`;
  return { title: 'Security reports', body };
}

// ---------------------------------------------------------------- audit

export async function auditPage(c: PageCtx): Promise<Page> {
  const action = c.query.get('action')?.trim() ?? '';
  const cursor = c.query.get('cursor');
  const params = new URLSearchParams({ limit: '50' });
  if (action) params.set('action', action);
  if (cursor) params.set('cursor', cursor);
  const page = await need(
    c.api<{
      items: {
        id: string;
        time: string;
        actor: string;
        action: string;
        target: string | null;
        detail: Record<string, unknown>;
      }[];
      next: string | null;
    }>('GET', `/audit-log?${params}`),
  );
  const next = new URLSearchParams();
  if (action) next.set('action', action);
  if (page.next) next.set('cursor', page.next);
  const body = `
<form method="get" class="row" role="search" aria-label="Filter the audit log"><label for="au-action"><span>Action (or a prefix such as <code>app.</code>)</span><input type="text" id="au-action" name="action" value="${e(action)}"></label><button type="submit">Filter</button></form>
${table(
  'Audit events, newest first',
  ['Time', 'Actor', 'Action', 'Target', 'Detail'],
  page.items.map((a) => [
    when(a.time),
    e(a.actor),
    `<code>${e(a.action)}</code>`,
    `<code>${e(a.target ?? '')}</code>`,
    `<code class="muted wrap">${e(JSON.stringify(a.detail).slice(0, 240))}</code>`,
  ]),
  { empty: 'No audit events match.' },
)}
${page.next ? `<p><a href="${c.base}audit?${next}">Older events</a></p>` : ''}`;
  return { title: 'Audit log', body };
}

// ---------------------------------------------------------------- actions

export type ActionResult =
  | { done: string; section: string; query?: Record<string, string> }
  | { failed: ApiAnswer; section: string; whatIf?: undefined }
  | { whatIf: { input: URLSearchParams; answer: ApiAnswer } }
  | { tested: { appId: string; answer: ApiAnswer } };

const principalOf = (value: string | null): { type: string; id: string } => {
  const [type, ...id] = (value ?? '').split(':');
  return { type, id: id.join(':') };
};

/** POST `/t/<tenant>/<section>/<…parts>`: one API call each. */
export async function runAction(c: PageCtx, parts: string[], form: URLSearchParams): Promise<ActionResult | null> {
  const [section, id, verb] = parts;
  const enc = encodeURIComponent;
  const step = async (
    s: string,
    done: string,
    p: Promise<ApiAnswer>,
    query?: (a: ApiAnswer) => Record<string, string>,
  ): Promise<ActionResult> => {
    const a = await p;
    return a.ok ? { done, section: s, query: query?.(a) } : { failed: a, section: s };
  };
  switch (section) {
    case 'apps':
      if (id === 'publish') return step('apps', 'app-published', c.api('POST', '/apps', appBody(form, true)));
      if (verb === 'save')
        return step(`apps/${id}`, 'app-saved', c.api('PATCH', `/apps/${enc(id)}`, appBody(form, false)));
      if (verb === 'delete') return step('apps', 'app-deleted', c.api('DELETE', `/apps/${enc(id)}`));
      if (verb === 'test')
        return { tested: { appId: id, answer: await c.api('POST', `/apps/${enc(id)}/test-connection`) } };
      break;
    case 'connectors':
      if (id === 'token')
        return step(
          'connectors',
          'token-created',
          c.api('POST', '/enrollment-tokens', { groupId: form.get('groupId') }),
          (a) => ({ token: String((a.body as { token?: string }).token ?? '') }),
        );
      if (id === 'group')
        return step(
          'connectors',
          'group-created',
          c.api('POST', '/connector-groups', { name: form.get('name') ?? '' }),
        );
      if (verb === 'renew')
        return step('connectors', 'cert-renewed', c.api('POST', `/connectors/${enc(id)}/renew-certificate`));
      if (verb === 'enabled')
        return step(
          'connectors',
          'connector-saved',
          c.api('PATCH', `/connectors/${enc(id)}`, { enabled: form.get('enabled') === '1' }),
        );
      if (verb === 'move')
        return step(
          'connectors',
          'connector-saved',
          c.api('PATCH', `/connectors/${enc(id)}`, { groupId: form.get('groupId') ?? '' }),
        );
      break;
    case 'users':
      if (id === 'create') {
        const body: Record<string, unknown> = { upn: form.get('upn') ?? '' };
        if (form.get('displayName')) body.displayName = form.get('displayName');
        if (form.get('password')) body.password = form.get('password');
        return step('users', 'user-created', c.api('POST', '/users', body));
      }
      if (verb === 'enabled')
        return step(
          'users',
          'user-saved',
          c.api('PATCH', `/users/${enc(id)}`, { enabled: form.get('enabled') === '1' }),
        );
      if (verb === 'revoke')
        return step('users', 'sessions-revoked', c.api('POST', `/users/${enc(id)}/revoke-sessions`));
      if (verb === 'unlock') return step('users', 'user-unlocked', c.api('POST', `/users/${enc(id)}/unlock`));
      break;
    case 'groups':
      if (id === 'create')
        return step(
          'groups',
          'group-created',
          c.api('POST', '/user-groups', {
            name: form.get('name') ?? '',
            ...(form.get('description') ? { description: form.get('description') } : {}),
          }),
        );
      if (verb === 'add')
        return step(
          'groups',
          'member-added',
          c.api('PUT', `/user-groups/${enc(id)}/members/${enc(form.get('userId') ?? '')}`),
        );
      if (verb === 'remove')
        return step(
          'groups',
          'member-removed',
          c.api('DELETE', `/user-groups/${enc(id)}/members/${enc(form.get('userId') ?? '')}`),
        );
      break;
    case 'licences':
      if (id === 'assign')
        return step(
          'licences',
          'licence-assigned',
          c.api('POST', `/licences/${enc(form.get('sku') ?? '')}/assignments`, principalOf(form.get('principal'))),
        );
      if (verb === 'unassign') {
        const p = principalOf(form.get('principal'));
        return step(
          'licences',
          'licence-unassigned',
          c.api('DELETE', `/licences/${enc(id)}/assignments/${enc(p.type)}/${enc(p.id)}`),
        );
      }
      if (verb === 'seats')
        return step(
          'licences',
          'seats-saved',
          c.api('PUT', `/licences/${enc(id)}`, { seats: Number(form.get('seats')) }),
        );
      break;
    case 'assignments':
      if (id === 'add')
        return step(
          'assignments',
          'assigned',
          c.api('POST', `/apps/${enc(form.get('appId') ?? '')}/assignments`, principalOf(form.get('principal'))),
        );
      if (verb === 'remove') {
        const p = principalOf(form.get('principal'));
        return step(
          'assignments',
          'unassigned',
          c.api('DELETE', `/apps/${enc(id)}/assignments/${enc(p.type)}/${enc(p.id)}`),
        );
      }
      break;
    case 'policies':
      if (id === 'what-if') {
        const body: Record<string, unknown> = { user: form.get('user') ?? '' };
        for (const k of ['app', 'ip', 'platform', 'risk']) {
          const v = form.get(k)?.trim();
          if (v) body[k] = v;
        }
        return { whatIf: { input: form, answer: await c.api('POST', '/policies/what-if', body) } };
      }
      if (verb === 'state')
        return step('policies', 'policy-saved', c.api('PATCH', `/policies/${enc(id)}`, { state: form.get('state') }));
      break;
  }
  return null;
}

/** GET `/t/<tenant>/<section>[/<id>]`. */
export async function renderSection(c: PageCtx, section: string, id: string | undefined): Promise<Page | null> {
  switch (section) {
    case '':
      return overviewPage(c);
    case 'apps':
      return id ? appPage(c, id) : appsPage(c);
    case 'connectors':
      return connectorsPage(c);
    case 'users':
      return usersPage(c);
    case 'groups':
      return groupsPage(c);
    case 'licences':
      return licencesPage(c);
    case 'assignments':
      return assignmentsPage(c);
    case 'policies':
      return policiesPage(c);
    case 'signin-log':
      return signinLogPage(c);
    case 'reports':
      return reportsPage(c);
    case 'audit':
      return auditPage(c);
    default:
      return null;
  }
}
