/** The sign-in pages: server-rendered, no script required, one form per page, labels on every field. */
import { catalogue, type ErrorCode } from '../../errors/catalogue.ts';
import { escapeHtml as e, page } from '../../errors/render.ts';
import { PASSKEY_SCRIPT } from './passkey-script.ts';

export interface Hidden {
  csrf: string;
  state: string | null;
}

function hidden(h: Hidden): string {
  return `<input type="hidden" name="csrf" value="${e(h.csrf)}">${h.state ? `<input type="hidden" name="state" value="${e(h.state)}">` : ''}`;
}

function alert(message: string | undefined, code?: ErrorCode): string {
  if (!message) return '';
  return `<div class="alert" role="alert"><strong>${e(message)}</strong>${code ? ` <span class="muted">(${code})</span>` : ''}</div>`;
}

const footer = '<footer>Protected by Drawbridge · sign-in is logged with your address and browser</footer>';

/** Another way into sign-in, shown below the password form (a passkey, the tenant's identity provider). */
export interface SigninAlternative {
  label: string;
  url: string;
}

export function loginPage(o: {
  hidden: Hidden;
  tenantName: string;
  appName: string | null;
  /** The app's public host, so users see where they are going. */
  appHost?: string | null;
  username?: string;
  error?: { message: string; code: ErrorCode };
  alternatives: SigninAlternative[];
  allowPersistent: boolean;
  /** Ask for the name alone first (home realm discovery): it goes to its domain's provider, or on to the password. */
  identifierFirst?: boolean;
}): string {
  const form = o.identifierFirst
    ? `<form method="post" action="/oidc/discover" autocomplete="on">
    ${hidden(o.hidden)}
    <label for="username">E-mail or user name</label>
    <input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="254" autofocus>
    <button type="submit" class="wide">Next</button>
  </form>`
    : `<form method="post" action="/login" autocomplete="on">
    ${hidden(o.hidden)}
    <label for="username">User name</label>
    <input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="254" value="${e(o.username ?? '')}"${o.username ? '' : ' autofocus'}>
    <label for="password">Password</label>
    <input type="password" id="password" name="password" autocomplete="current-password" required maxlength="1024"${o.username ? ' autofocus' : ''}>
    ${o.allowPersistent ? '<label class="check"><input type="checkbox" name="remember" value="1"> Stay signed in on this device</label>' : ''}
    <button type="submit" class="wide">Sign in</button>
  </form>`;
  return page(
    'Sign in',
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">${e(o.tenantName)}</p>
  <h1 id="title">Sign in</h1>
  <p class="lead">${o.appName ? `to continue to <strong>${e(o.appName)}</strong>${o.appHost ? ` <span class="muted">· ${e(o.appHost)}</span>` : ''}` : "to your organisation's applications"}</p>
  ${o.error ? alert(o.error.message, o.error.code) : ''}
  ${form}
  ${o.alternatives.length ? '<div class="divider">or</div>' : ''}
  ${o.alternatives.map((a, i) => `<a class="button secondary" style="display:block;text-align:center;margin-top:${i ? '12px' : '0'}" href="${e(a.url)}">${e(a.label)}</a>`).join('\n  ')}
</main>${footer}`,
  );
}

export function mfaPage(o: {
  hidden: Hidden;
  upn: string;
  error?: { message: string; code: ErrorCode };
  passkeyUrl: string | null;
  recoveryLeft: number;
}): string {
  return page(
    'Verify it is you',
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">Second step</p>
  <h1 id="title">Enter your verification code</h1>
  <p class="who"><span>Signing in as <strong>${e(o.upn)}</strong></span></p>
  <p class="lead">Open your authenticator app and enter the 6-digit code for Drawbridge.</p>
  ${o.error ? alert(o.error.message, o.error.code) : ''}
  <form method="post" action="/mfa">
    ${hidden(o.hidden)}
    <label for="code">Verification code</label>
    <input type="text" class="otp" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="11" autofocus>
    <button type="submit" class="wide">Verify</button>
  </form>
  <p class="muted">Lost your device? Enter one of your recovery codes (like <code>abcde-12345</code>) instead${o.recoveryLeft ? ` — ${o.recoveryLeft} left` : ''}.</p>
  ${o.passkeyUrl ? `<div class="divider">or</div><a class="button secondary" style="display:block;text-align:center" href="${e(o.passkeyUrl)}">Use a passkey</a>` : ''}
</main>${footer}`,
  );
}

export function enrollPage(o: {
  hidden: Hidden;
  upn: string;
  qrSvgDataUri: string;
  secret: string;
  passkeyUrl: string;
  error?: { message: string; code: ErrorCode };
}): string {
  const grouped = o.secret.replace(/(.{4})/g, '$1 ').trim();
  return page(
    'Set up two-step verification',
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">Required by your organisation</p>
  <h1 id="title">Set up two-step verification</h1>
  <p class="who"><span>Signed in as <strong>${e(o.upn)}</strong></span></p>
  <ol>
    <li>Open an authenticator app (Microsoft Authenticator, Google Authenticator, 1Password…).</li>
    <li>Scan this code, or type the key below.</li>
    <li>Enter the 6-digit code the app shows.</li>
  </ol>
  <img class="qr" src="${o.qrSvgDataUri}" alt="QR code for your authenticator app. If you cannot scan it, type the key shown below.">
  <p style="text-align:center">Key: <span class="secret">${e(grouped)}</span></p>
  ${o.error ? alert(o.error.message, o.error.code) : ''}
  <form method="post" action="/mfa/enroll">
    ${hidden(o.hidden)}
    <label for="code">Code from the app</label>
    <input type="text" class="otp" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="6" autofocus>
    <button type="submit" class="wide">Turn on two-step verification</button>
  </form>
  <div class="divider">or</div>
  <a class="button secondary" style="display:block;text-align:center;margin-top:0" href="${e(o.passkeyUrl)}">Use a passkey instead</a>
</main>${footer}`,
  );
}

export function recoveryCodesPage(o: { codes: string[]; continueUrl: string }): string {
  return page(
    'Save your recovery codes',
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">Two-step verification is on</p>
  <h1 id="title">Save your recovery codes</h1>
  <p>If you lose your phone, each of these codes signs you in once instead of a verification code. Store them somewhere safe: they will not be shown again.</p>
  <ul class="codes">${o.codes.map((c) => `<li>${e(c)}</li>`).join('')}</ul>
  <a class="button" href="${e(o.continueUrl)}">I have saved them — continue</a>
</main>${footer}`,
  );
}

/** A denial with its own code: what is wrong, what to do, who is signed in, and a way to switch account. */
export function deniedPage(o: {
  code: ErrorCode;
  correlationId: string;
  upn: string;
  appName: string;
  signout: Hidden;
  detail?: string;
}): string {
  const spec = catalogue[o.code];
  return page(
    spec.title,
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">Access denied · ${e(o.appName)}</p>
  <h1 id="title">${e(spec.title)}</h1>
  <p class="who"><span>Signed in as <strong>${e(o.upn)}</strong></span></p>
  <p>${e(spec.user)}</p>
  <dl>
    <dt>Error code</dt><dd><code>${o.code}</code></dd>
    <dt>Application</dt><dd>${e(o.appName)}</dd>
    <dt>Correlation id</dt><dd><code>${e(o.correlationId)}</code></dd>
    <dt>Time</dt><dd>${new Date().toISOString()}</dd>
  </dl>
  <div class="actions">
    <form method="post" action="/signout">${hidden(o.signout)}<button type="submit" class="secondary" style="margin-top:0">Sign in as someone else</button></form>
  </div>
  <p class="hint">Quote the code and correlation id to your help desk: they point to the exact entry in the sign-in log.</p>
</main>`,
  );
}

export function signedOutPage(): string {
  return page(
    'Signed out',
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">Drawbridge</p>
  <h1 id="title">You are signed out</h1>
  <p>You have been signed out of every application you opened with this sign-in. You can close this window.</p>
  <div class="notice">On a shared computer, close all browser windows as well.</div>
</main>`,
  );
}

export function signoutConfirmPage(o: { hidden: Hidden; upn: string | null }): string {
  return page(
    'Sign out',
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">Drawbridge</p>
  <h1 id="title">Sign out of all applications?</h1>
  ${o.upn ? `<p class="who"><span>Signed in as <strong>${e(o.upn)}</strong></span></p>` : ''}
  <p>This ends your sign-in and the session of every application you opened with it.</p>
  <form method="post" action="/signout">${hidden(o.hidden)}<button type="submit">Sign out</button></form>
</main>`,
  );
}

/** An app on the portal: what the user sees and where one click takes them. */
export interface PortalApp {
  name: string;
  url: string;
  /** Apps of kind rdp: "Connect" downloads a .rdp file with a fresh gateway access token (edge/rdg/). */
  connect?: string;
}

export function homePage(o: {
  upn: string | null;
  tenantName: string | null;
  signout: Hidden;
  passkeys: string[];
  apps: PortalApp[];
}): string {
  return page(
    o.upn ? 'Signed in' : 'Sign in',
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">${e(o.tenantName ?? 'Drawbridge')}</p>
  ${
    o.upn
      ? `<h1 id="title">You are signed in</h1>
  <p class="who"><span>Signed in as <strong>${e(o.upn)}</strong></span></p>
  <h2 class="apps-title">Your applications</h2>
  ${
    o.apps.length
      ? `<ul class="apps">${o.apps
          .map((a) =>
            a.connect
              ? `<li><a href="${e(a.connect)}" download><span class="app-name">${e(a.name)}</span><span class="app-host">Connect · remote desktop</span></a></li>`
              : `<li><a href="${e(a.url)}"><span class="app-name">${e(a.name)}</span><span class="app-host">${e(new URL(a.url).host)}</span></a></li>`,
          )
          .join('')}</ul>
  <p class="muted">This sign-in serves them all.</p>`
      : '<p>No application is assigned to you yet. Ask your administrator if you expected one.</p>'
  }
  <dl>
    <dt>Passkeys</dt><dd>${o.passkeys.length ? o.passkeys.map((p) => e(p)).join(', ') : 'none yet'}</dd>
  </dl>
  <div class="actions">
    <a class="button" style="margin-top:0" href="/passkey/register">Add a passkey</a>
    <form method="post" action="/signout">${hidden(o.signout)}<button type="submit" class="secondary" style="margin-top:0">Sign out</button></form>
  </div>`
      : `<h1 id="title">Open an application to sign in</h1>
  <p>Sign-in starts from the application you want to use. Open it from its usual address or link, and you will be brought here.</p>`
  }
</main>`,
  );
}

const PASSKEY_TEXT = {
  verify: {
    title: 'Use your passkey',
    status: 'Second step',
    lead: 'Confirm it is you with the passkey on this device or your security key (fingerprint, face or PIN).',
    button: 'Continue with passkey',
  },
  register: {
    title: 'Add a passkey',
    status: 'Passkeys',
    lead: 'A passkey lets you confirm sign-ins with your fingerprint, face, PIN or security key instead of a code. It stays on your device; Drawbridge keeps only its public key.',
    button: 'Create a passkey',
  },
  signin: {
    title: 'Sign in with a passkey',
    status: 'Passwordless',
    lead: 'Choose your passkey: it identifies you and confirms it is you, so no password is needed.',
    button: 'Sign in with a passkey',
  },
} as const;

/**
 * One page for the three passkey ceremonies. The options travel in a data attribute; the page's only script (allowed
 * by its CSP hash) runs the ceremony and posts the result in the form. Without JavaScript the form explains itself.
 */
export function passkeyPage(o: {
  mode: 'verify' | 'register' | 'signin';
  hidden: Hidden;
  upn: string | null;
  optionsJson: string;
  fallback: { url: string; label: string } | null;
  error?: { message: string; code: ErrorCode };
}): string {
  const t = PASSKEY_TEXT[o.mode];
  const action = o.mode === 'verify' ? '/passkey' : `/passkey/${o.mode}`;
  return page(
    t.title,
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">${t.status}</p>
  <h1 id="title">${t.title}</h1>
  ${o.upn ? `<p class="who"><span>${o.mode === 'register' ? 'Signed in' : 'Signing in'} as <strong>${e(o.upn)}</strong></span></p>` : ''}
  <p class="lead">${t.lead}</p>
  ${o.error ? alert(o.error.message, o.error.code) : ''}
  <div class="alert" role="alert" id="passkey-error" hidden></div>
  <form method="post" action="${action}" id="passkey-form" data-mode="${o.mode}" data-options="${e(o.optionsJson)}">
    ${hidden(o.hidden)}
    <input type="hidden" name="credential" value="">
    ${o.mode === 'register' ? '<label for="name">Name for this passkey</label><input type="text" id="name" name="name" maxlength="64" placeholder="e.g. Work laptop" autocomplete="off">' : ''}
    <button type="submit" class="wide">${t.button}</button>
  </form>
  <noscript><div class="notice">Passkeys need JavaScript in this browser.${o.fallback ? ` <a href="${e(o.fallback.url)}">${e(o.fallback.label)}</a>.` : ''}</div></noscript>
  ${o.fallback ? `<p class="muted" style="text-align:center"><a href="${e(o.fallback.url)}">${e(o.fallback.label)}</a></p>` : ''}
</main>${footer}
<script>${PASSKEY_SCRIPT}</script>`,
  );
}

export function passkeyAddedPage(o: { name: string; continueUrl: string }): string {
  return page(
    'Passkey added',
    `
<main class="card" role="main" aria-labelledby="title">
  <p class="status">Passkeys</p>
  <h1 id="title">Your passkey is ready</h1>
  <p><strong>${e(o.name)}</strong> was added. Next time you sign in, confirm with it instead of typing a code — or skip the password altogether with <em>Sign in with a passkey</em>.</p>
  <a class="button" href="${e(o.continueUrl)}">Continue</a>
</main>${footer}`,
  );
}
