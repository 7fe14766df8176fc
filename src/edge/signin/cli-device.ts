/**
 * Device-code sign-in for `drawbridge access login --device` (issue 13), for machines without a browser (RFC 8628
 * in spirit): the CLI asks the TCP app's host for a device code and a short user code (no credentials), shows the
 * user code and the verification address, and polls. The person opens the address in any browser, passes the app
 * host's usual pre-authentication, and enters the code; the edge then parks a channel token (cli-login.ts) for the
 * polling CLI, which takes it once. Codes live in the ephemeral state (shared by every node in a cluster).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { App } from '../../store/types.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import { safeEqual } from '../../identity/keys.ts';
import { keyObject } from '../../lib/key-object.ts';
import { CLI_DEVICE_PATH, CLI_DEVICE_TOKEN_PATH, CLI_DEVICE_VERIFY_PATH } from '../../lib/tcp-target.ts';
import type { Ctx } from './context.ts';
import { clientIp, readBody, readForm, sendHtml, sendJson } from './http.ts';
import { mintChannelToken } from './channel-token.ts';

const CODE_TTL_MS = 10 * 60_000;
const POLL_SECONDS = 2;
/** No vowels or look-alikes: a user code never spells a word or reads ambiguously. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

interface DeviceEntry {
  tenantId: string;
  appId: string;
  userCode: string;
  expiresAt: number;
  token: string | null;
}

const deviceKey = (deviceCode: string): string => `cli-device:${deviceCode}`;
const userCodeKey = (appId: string, userCode: string): string => `cli-user-code:${appId}:${userCode}`;

function newUserCode(): string {
  let code = '';
  for (let i = 0; i < 8; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

const normaliseUserCode = (value: string): string => {
  const letters = value.toUpperCase().replace(/[^A-Z]/g, '');
  return letters.length === 8 ? `${letters.slice(0, 4)}-${letters.slice(4)}` : '';
};

/** The form's token: bound to the signed-in user and the app (the app host has no browser cookie of its own). */
const formToken = (ctx: Ctx, identity: Identity, app: App): string =>
  createHmac('sha256', keyObject(ctx.keys.key('csrf')))
    .update(`cli-device\0${identity.userId}\0${app.id}`)
    .digest('base64url');

/** Requests a TCP app's host answers without a session: starting a device sign-in and polling it. True if handled. */
export function handleCliDevicePublic(ctx: Ctx, req: IncomingMessage, res: ServerResponse, app: App): boolean {
  const pathname = new URL(req.url ?? '/', 'https://x').pathname;
  if (pathname !== CLI_DEVICE_PATH && pathname !== CLI_DEVICE_TOKEN_PATH) return false;
  if (req.method !== 'POST') {
    sendJson(res, 405, { error: 'method_not_allowed' });
    return true;
  }
  (pathname === CLI_DEVICE_PATH ? start(ctx, req, res, app) : poll(ctx, req, res, app)).catch((err: Error) => {
    ctx.deps.logger.error({ err }, 'device sign-in failed');
    sendJson(res, 500, { error: 'server_error' });
  });
  return true;
}

async function start(ctx: Ctx, req: IncomingMessage, res: ServerResponse, app: App): Promise<void> {
  const limited = await ctx.ipLimiter.hit(`cli-device:${clientIp(req)}`);
  if (!limited.allowed) return sendJson(res, 429, { error: 'slow_down', retryAfter: limited.retryAfter });
  const deviceCode = randomBytes(32).toString('base64url');
  const userCode = newUserCode();
  const entry: DeviceEntry = {
    tenantId: app.tenantId,
    appId: app.id,
    userCode,
    expiresAt: ctx.now() + CODE_TTL_MS,
    token: null,
  };
  await ctx.state.set(deviceKey(deviceCode), entry, CODE_TTL_MS);
  await ctx.state.set(userCodeKey(app.id, userCode), deviceCode, CODE_TTL_MS);
  sendJson(res, 200, {
    deviceCode,
    userCode,
    verificationUri: `${app.externalUrl}${CLI_DEVICE_VERIFY_PATH}`,
    interval: POLL_SECONDS,
    expiresIn: CODE_TTL_MS / 1000,
  });
}

async function poll(ctx: Ctx, req: IncomingMessage, res: ServerResponse, app: App): Promise<void> {
  let deviceCode = '';
  try {
    deviceCode = String(
      (JSON.parse((await readBody(req, 4096)).toString('utf8')) as { deviceCode?: unknown }).deviceCode ?? '',
    );
  } catch {
    return sendJson(res, 400, { error: 'invalid_request' });
  }
  const entry = deviceCode ? await ctx.state.get<DeviceEntry>(deviceKey(deviceCode)) : null;
  if (!entry || entry.appId !== app.id) return sendJson(res, 400, { error: 'expired_token' });
  if (!entry.token) return sendJson(res, 400, { error: 'authorization_pending', interval: POLL_SECONDS });
  // Taken once: a second poller (or a replay) gets nothing.
  const taken = await ctx.state.take<DeviceEntry>(deviceKey(deviceCode));
  if (!taken?.token) return sendJson(res, 400, { error: 'expired_token' });
  sendJson(res, 200, { token: taken.token });
}

/** The verification page, behind the app host's pre-authentication: enter the code, approve the device. */
export async function handleCliDeviceVerify(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  identity: Identity,
): Promise<boolean> {
  if (new URL(req.url ?? '/', 'https://x').pathname !== CLI_DEVICE_VERIFY_PATH) return false;
  const token = formToken(ctx, identity, app);
  if (req.method !== 'POST') {
    sendHtml(res, 200, page(app, identity, token));
    return true;
  }
  const form = await readForm(req);
  // The form's token, and (defence in depth) no cross-site post.
  if (!safeEqual(form.get('csrf') ?? '', token) || req.headers['sec-fetch-site'] === 'cross-site') {
    sendHtml(res, 403, page(app, identity, token, 'This form expired. Enter the code again.'));
    return true;
  }
  const userCode = normaliseUserCode(form.get('user_code') ?? '');
  const deviceCode = userCode ? await ctx.state.take<string>(userCodeKey(app.id, userCode)) : null;
  const entry = deviceCode ? await ctx.state.get<DeviceEntry>(deviceKey(deviceCode)) : null;
  if (!deviceCode || !entry || entry.token) {
    sendHtml(
      res,
      400,
      page(app, identity, token, 'That code is not valid (or has expired). Check it in the terminal.'),
    );
    return true;
  }
  await ctx.state.set(
    deviceKey(deviceCode),
    { ...entry, token: mintChannelToken(ctx, identity, app) },
    Math.max(1_000, entry.expiresAt - ctx.now()),
  );
  ctx.deps.logger.info({ appId: app.id, userId: identity.userId }, 'device sign-in approved');
  sendHtml(
    res,
    200,
    shell(
      app,
      `<p>Signed in as <b>${escapeHtml(identity.upn)}</b>. The command line continues on its own; you can close this tab.</p>`,
    ),
  );
  return true;
}

function page(app: App, identity: Identity, token: string, error?: string): string {
  return shell(
    app,
    `${error ? `<p class="error">${escapeHtml(error)}</p>` : ''}
<p>Signed in as <b>${escapeHtml(identity.upn)}</b>. Enter the code the command line shows to let it reach <b>${escapeHtml(app.name)}</b> as you.</p>
<form method="post" action="${CLI_DEVICE_VERIFY_PATH}">
<input type="hidden" name="csrf" value="${token}">
<label>Code <input name="user_code" autocomplete="off" autofocus required pattern="[A-Za-z]{4}-?[A-Za-z]{4}" placeholder="XXXX-XXXX"></label>
<button type="submit">Continue</button>
</form>`,
  );
}

function shell(app: App, body: string): string {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Sign in a device · ${escapeHtml(app.name)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}.error{color:#b42318}input{font:inherit;letter-spacing:.1em}</style>
<h1>Sign in a device</h1>${body}</html>`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
