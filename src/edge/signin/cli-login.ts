/**
 * Browser sign-in for `drawbridge access login` (issue 13), as `gh auth login` does it: the CLI listens on a
 * loopback port and opens `https://<tcp app host>/.drawbridge-cli/login?port=P&state=S` in the browser. That request
 * goes through the app host's usual pre-authentication (sign-in, MFA, conditional access, the access decision);
 * once it has an identity the edge mints a **channel token** bound to the user and this app, signed with the edge's
 * identity keys, and redirects to `http://127.0.0.1:P/callback?token=…&state=S`. Every channel opened with it is
 * decided again (tcp-access.ts), so disabling or unassigning the user refuses new channels and closes open ones.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../../store/types.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import type { Ctx } from './context.ts';
import { redirect, sendError } from './http.ts';
import { handleCliDeviceVerify } from './cli-device.ts';
import { mintChannelToken } from './channel-token.ts';
import { CLI_LOGIN_PATH } from '../../lib/tcp-target.ts';

export { CLI_LOGIN_PATH };
/** A signed-in request to a TCP app's host: the CLI login path hands a token to the loopback; anything else is refused. */
export function handleCliLogin(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  identity: Identity,
  correlationId: string,
): void {
  handleCliDeviceVerify(ctx, req, res, app, identity).then(
    (handled) => {
      if (!handled) loopbackRedirect(ctx, req, res, app, identity, correlationId);
    },
    (err: Error) => {
      ctx.deps.logger.error({ correlationId, err }, 'device sign-in verification failed');
      sendError(req, res, 'DB-INTERNAL', correlationId);
    },
  );
}

function loopbackRedirect(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  app: App,
  identity: Identity,
  correlationId: string,
): void {
  const url = new URL(req.url ?? '/', 'https://x');
  if (url.pathname !== CLI_LOGIN_PATH) return sendError(req, res, 'DB-TCP-NOT-TCP-APP', correlationId);
  const port = Number(url.searchParams.get('port'));
  const state = url.searchParams.get('state') ?? '';
  // Only the CLI's loopback listener may receive the token: never a host the link could name.
  if (!Number.isInteger(port) || port < 1024 || port > 65535 || !/^[A-Za-z0-9_-]{16,128}$/.test(state)) {
    return sendError(
      req,
      res,
      'DB-HTTP-BAD-REQUEST',
      correlationId,
      'port (1024-65535) and state (16-128 URL-safe characters) are required',
    );
  }
  const token = mintChannelToken(ctx, identity, app);
  ctx.deps.logger.info(
    { correlationId, appId: app.id, userId: identity.userId },
    'channel token issued to the command line',
  );
  res.setHeader('cache-control', 'no-store');
  redirect(res, `http://127.0.0.1:${port}/callback?${new URLSearchParams({ token, state })}`);
}
