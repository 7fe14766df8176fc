/**
 * The console's page frame and small HTML helpers. Server-rendered, one `<main>`, a skip link, a labelled
 * navigation landmark with `aria-current`, a banner, visible focus, and a label on every field.
 */
import { escapeHtml } from '../../errors/render.ts';
import { CSS_URL, JS_URL } from './assets.ts';

export const e = (v: unknown): string => escapeHtml(v === null || v === undefined ? '' : String(v));

export interface Frame {
  title: string;
  /** The signed-in administrator's name. */
  who: string;
  /** The role it acts with (global-admin, tenant-admin, …). */
  role?: string;
  tenant: { name: string; displayName: string } | null;
  /** Other tenants the administrator may switch to (bootstrap token only). */
  tenants?: { name: string; displayName: string }[];
  active: string;
  csrf: string;
  body: string;
  /** The sections the administrator's role may read (NAV paths); absent: all. */
  sections?: readonly string[];
  /** A message for the top of the page. */
  notice?: { kind: 'ok' | 'bad' | 'warn'; html: string } | null;
}

export const NAV = [
  ['', 'Overview'],
  ['apps', 'Apps'],
  ['connectors', 'Connectors'],
  ['users', 'Users'],
  ['groups', 'Groups'],
  ['licences', 'Licences'],
  ['assignments', 'Assignments'],
  ['policies', 'Conditional access'],
  ['signin-log', 'Sign-in log'],
  ['reports', 'Security reports'],
  ['audit', 'Audit log'],
] as const;

export function tenantBase(tenantName: string): string {
  return `/t/${encodeURIComponent(tenantName)}/`;
}

export function layout(f: Frame): string {
  const base = f.tenant ? tenantBase(f.tenant.name) : '/';
  const shown = f.sections ? NAV.filter(([path]) => f.sections?.includes(path)) : NAV;
  const nav = f.tenant
    ? `<nav class="side" aria-label="Console sections"><ul>${shown.map(([path, label]) => `<li><a href="${base}${path}"${f.active === path ? ' aria-current="page"' : ''}>${label}</a></li>`).join('')}</ul></nav>`
    : '<nav class="side" aria-label="Console sections"></nav>';
  const switcher =
    f.tenants && f.tenants.length > 1 && f.tenant
      ? `<form method="get" action="/switch" class="inline"><label for="tenant-switch" class="muted" style="color:#fff;font-weight:400">Tenant</label> <select id="tenant-switch" name="tenant">${f.tenants.map((t) => `<option value="${e(t.name)}"${t.name === f.tenant?.name ? ' selected' : ''}>${e(t.displayName)}</option>`).join('')}</select> <button type="submit" class="small">Switch</button></form>`
      : f.tenant
        ? `<span>${e(f.tenant.displayName)}</span>`
        : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(f.title)} · Drawbridge console</title>
<link rel="stylesheet" href="${CSS_URL}">
<script src="${JS_URL}" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top" role="banner">
  <a class="brand" href="${base}">Drawbridge console</a>
  ${switcher}
  <div class="who"><span>Signed in as <strong>${e(f.who)}</strong>${f.role ? ` <span class="role">(${e(f.role.replace('-', ' '))})</span>` : ''}</span>
    <form method="post" action="/signout"><input type="hidden" name="csrf" value="${e(f.csrf)}"><button type="submit">Sign out</button></form>
  </div>
</header>
${nav}
<main id="main" tabindex="-1">
<h1>${e(f.title)}</h1>
${f.notice ? `<div class="alert ${f.notice.kind}" role="${f.notice.kind === 'bad' ? 'alert' : 'status'}">${f.notice.html}</div>` : ''}
${f.body}
</main>
</body>
</html>`;
}

/** A page outside the frame (sign-in). */
export function barePage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(title)} · Drawbridge console</title>
<link rel="stylesheet" href="${CSS_URL}">
</head>
<body class="bare">
<a class="skip" href="#main">Skip to content</a>
<header class="top" role="banner"><span class="brand">Drawbridge console</span></header>
<main id="main" tabindex="-1" class="signin">
${body}
</main>
</body>
</html>`;
}

export function badge(kind: 'ok' | 'bad' | 'warn' | 'off', text: string): string {
  return `<span class="badge ${kind}">${e(text)}</span>`;
}

export function csrfField(csrf: string): string {
  return `<input type="hidden" name="csrf" value="${e(csrf)}">`;
}

/** A one-button form posting to `action` (with optional hidden fields). */
export function actionButton(
  csrf: string,
  action: string,
  label: string,
  opts: { fields?: Record<string, string>; danger?: boolean; confirm?: string; accessibleName?: string } = {},
): string {
  const fields = Object.entries(opts.fields ?? {})
    .map(([k, v]) => `<input type="hidden" name="${e(k)}" value="${e(v)}">`)
    .join('');
  return `<form method="post" action="${e(action)}" class="inline">${csrfField(csrf)}${fields}<button type="submit" class="small ${opts.danger ? 'danger' : 'secondary'}"${opts.confirm ? ` data-confirm="${e(opts.confirm)}"` : ''}${opts.accessibleName ? ` aria-label="${e(opts.accessibleName)}"` : ''}>${e(label)}</button></form>`;
}

export function table(
  caption: string,
  headers: string[],
  rows: string[][],
  opts: { numeric?: number[]; empty?: string; id?: string } = {},
): string {
  const num = new Set(opts.numeric ?? []);
  if (rows.length === 0)
    return `<p class="muted"${opts.id ? ` id="${opts.id}"` : ''}>${e(opts.empty ?? `No ${caption.toLowerCase()}.`)}</p>`;
  return `<div class="table-wrap"><table${opts.id ? ` id="${opts.id}"` : ''}><caption>${e(caption)}</caption><thead><tr>${headers.map((h, i) => `<th scope="col"${num.has(i) ? ' class="num"' : ''}>${e(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c, i) => `<td${num.has(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`).join('')}</tbody></table></div>`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '<span class="muted">—</span>';
  return `<time datetime="${e(iso)}">${e(iso.replace('T', ' ').slice(0, 19))}</time>`;
}

export function options(values: { value: string; label: string }[], selected?: string | null): string {
  return values
    .map((o) => `<option value="${e(o.value)}"${o.value === selected ? ' selected' : ''}>${e(o.label)}</option>`)
    .join('');
}
