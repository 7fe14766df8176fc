/** Passkeys (WebAuthn) as a second factor. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ctx } from './context.ts';
import { sendError } from './http.ts';
import type { CentralSession } from './sessions.ts';

export function passkeyScript(res: ServerResponse): void {
  res.writeHead(404).end();
}

export async function handlePasskey(
  ctx: Ctx,
  req: IncomingMessage,
  res: ServerResponse,
  cid: string,
  _url: URL,
  _csrf: string,
  _cookies: string[],
  _complete: (central: CentralSession, stateText: string | null) => Promise<void>,
): Promise<void> {
  void ctx;
  sendError(req, res, 'DB-HTTP-BAD-REQUEST', cid, 'There is no sign-in page at this address.');
}
