import { catalogue, type ErrorCode } from './catalogue.ts';

export interface RenderedError {
  status: number;
  contentType: string;
  body: string;
}

const escapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => escapes[c]);
}

/** Prefers JSON only when the client asks for it and not for HTML (API clients, fetch()). */
export function wantsJson(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.includes('application/json') && !accept.includes('text/html');
}

/**
 * One renderer for every error a person can meet: a plain, fast page (no script, no external assets) that says what
 * happened, what to do, the code and the correlation id; or the same as JSON.
 */
export function renderError(
  code: ErrorCode,
  correlationId: string,
  accept: string | undefined,
  detail?: string,
): RenderedError {
  const spec = catalogue[code];
  if (wantsJson(accept)) {
    return {
      status: spec.status,
      contentType: 'application/json; charset=utf-8',
      body: JSON.stringify({ error: { code, title: spec.title, message: spec.user, detail, correlationId } }),
    };
  }
  return { status: spec.status, contentType: 'text/html; charset=utf-8', body: errorPage(code, correlationId, detail) };
}

export function errorPage(code: ErrorCode, correlationId: string, detail?: string): string {
  const spec = catalogue[code];
  return page(
    spec.title,
    `
<main class="card" role="main">
  <p class="status">Error ${spec.status}</p>
  <h1>${escapeHtml(spec.title)}</h1>
  <p>${escapeHtml(spec.user)}</p>
  ${detail ? `<p class="detail">${escapeHtml(detail)}</p>` : ''}
  <dl>
    <dt>Error code</dt><dd><code>${code}</code></dd>
    <dt>Correlation id</dt><dd><code>${escapeHtml(correlationId)}</code></dd>
    <dt>Time</dt><dd>${new Date().toISOString()}</dd>
  </dl>
  <p class="hint">Quote the code and correlation id to your help desk: they point to the exact log entry.</p>
</main>`,
  );
}

/** The shared page shell: system fonts, inline CSS, readable at any width, high contrast. */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Drawbridge</title>
<style>
  :root { color-scheme: light dark; --fg:#1b1f24; --muted:#57606a; --bg:#f6f8fa; --card:#fff; --accent:#0b5cad; --line:#d0d7de; }
  @media (prefers-color-scheme: dark) { :root { --fg:#e6edf3; --muted:#9da7b3; --bg:#0d1117; --card:#161b22; --accent:#58a6ff; --line:#30363d; } }
  * { box-sizing: border-box; }
  body { margin:0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
  header { padding: 14px 24px; border-bottom: 1px solid var(--line); background: var(--card); font-weight: 600; }
  header span { color: var(--accent); }
  .card { max-width: 560px; margin: 48px auto; padding: 32px; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
  h1 { font-size: 1.5rem; margin: 0 0 12px; }
  .status { margin: 0 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .06em; font-size: .8rem; }
  .detail, .hint { color: var(--muted); }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 24px 0; padding: 16px; border-radius: 6px; background: var(--bg); }
  dt { color: var(--muted); } dd { margin: 0; word-break: break-all; }
  label { display:block; margin: 16px 0 4px; font-weight: 600; }
  input[type=text], input[type=password], input[type=email] { width:100%; padding: 10px; font: inherit; border:1px solid var(--line); border-radius: 6px; background: var(--card); color: var(--fg); }
  button, .button { display:inline-block; margin-top: 20px; padding: 10px 18px; font: inherit; font-weight: 600; color: #fff; background: var(--accent); border: 0; border-radius: 6px; cursor: pointer; text-decoration: none; }
  a { color: var(--accent); }
  input[type=text]:focus, input[type=password]:focus, button:focus-visible, .button:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  .muted { color: var(--muted); }
  .lead { margin: 0 0 8px; color: var(--muted); }
  .alert { margin: 16px 0; padding: 12px 14px; border: 1px solid #cf222e; border-left-width: 4px; border-radius: 6px; background: rgba(207,34,46,.08); }
  .notice { margin: 16px 0; padding: 12px 14px; border: 1px solid var(--line); border-left: 4px solid var(--accent); border-radius: 6px; background: var(--bg); }
  .button.secondary, button.secondary { color: var(--accent); background: transparent; border: 1px solid var(--line); }
  button.wide { width: 100%; }
  .check { display: flex; gap: 8px; align-items: center; margin-top: 16px; font-weight: 400; }
  .divider { display: flex; align-items: center; gap: 12px; margin: 24px 0 4px; color: var(--muted); font-size: .875rem; }
  .divider::before, .divider::after { content: ""; flex: 1; border-top: 1px solid var(--line); }
  .qr { display: block; width: 200px; height: 200px; margin: 16px auto; padding: 8px; background: #fff; border-radius: 6px; }
  .secret { font: 600 1.05rem/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; letter-spacing: .08em; word-break: break-all; }
  .codes { display: grid; grid-template-columns: repeat(2, 1fr); gap: 6px 16px; margin: 16px 0; padding: 16px; list-style: none; border-radius: 6px; background: var(--bg); font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
  .apps-title { font-size: 1rem; margin: 20px 0 8px; }
  .apps { list-style: none; margin: 0; padding: 0; display: grid; gap: 8px; }
  .apps a { display: flex; flex-direction: column; padding: 12px 14px; border: 1px solid var(--line); border-radius: 6px; text-decoration: none; color: var(--fg); }
  .apps a:hover, .apps a:focus-visible { border-color: var(--accent); outline: none; box-shadow: 0 0 0 2px var(--accent); }
  .app-name { font-weight: 600; color: var(--accent); }
  .app-host { color: var(--muted); font-size: .875rem; }
  .who { display: flex; justify-content: space-between; align-items: center; gap: 12px; margin: 0 0 16px; padding: 10px 14px; border-radius: 6px; background: var(--bg); }
  .actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; }
  .actions form { margin: 0; }
  .otp { font: 600 1.4rem/1 ui-monospace, SFMono-Regular, Menlo, monospace !important; letter-spacing: .3em; text-align: center; }
  footer { max-width: 560px; margin: -32px auto 32px; padding: 0 8px; color: var(--muted); font-size: .8rem; text-align: center; }
</style>
</head>
<body>
<header><span>▣</span> Drawbridge</header>
${body}
</body>
</html>`;
}
