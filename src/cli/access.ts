/**
 * `drawbridge access …`: native clients to TCP apps (issue 13).
 *
 *   access tcp --app <url|host> --listen 127.0.0.1:PORT   a local listener: each connection is one channel
 *   access ssh --app <host>                               stdin/stdout as one channel, for ssh's ProxyCommand
 *   access login --app <url|host>                         signs in with the browser (loopback redirect) and caches
 *                                                         the user's token for the app's host (0600)
 *   access login --app <url|host> --token T|-             caches a given token (a service token; - reads stdin)
 *
 * The token: --token, else DRAWBRIDGE_TOKEN, else the one cached for the host by `access login`.
 */
import net from 'node:net';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { CLI_LOGIN_PATH } from '../lib/tcp-target.ts';
import { channelTarget, openChannel, type ChannelTarget } from './access-channel.ts';

const HELP = `drawbridge access — reach a TCP app (SSH, a database) published through Drawbridge

Usage:
  drawbridge access tcp --app <external url|host> --listen 127.0.0.1:PORT
  drawbridge access ssh --app <host>      (ssh -o ProxyCommand='drawbridge access ssh --app %h' user@host)
  drawbridge access login --app <external url|host> [--no-browser]    (sign in with the browser; caches the token)
  drawbridge access login --app <external url|host> --token TOKEN|-   (cache a service token; - reads stdin)

Options:
  --app URL|HOST   the app's external URL or host name
  --port N         the edge's public port (default: the URL's, else 443)
  --token TOKEN    a service token (<id>.<secret>); default $DRAWBRIDGE_TOKEN, then the cached one
  --ca FILE        also trust this CA certificate (the demo's: <state dir>/edge/ca.pem); default $DRAWBRIDGE_CA
  --listen A:P     (tcp) the local address to listen on
  --no-browser     (login) print the sign-in address instead of opening a browser
`;

const OPTIONS = {
  app: { type: 'string' }, port: { type: 'string' }, token: { type: 'string' }, ca: { type: 'string' }, listen: { type: 'string' }, 'no-browser': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

function credentialsFile(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'drawbridge', 'credentials.json');
}

function readCache(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(credentialsFile(), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

export async function runAccess(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: OPTIONS, strict: true });
  if (values.help || !sub || !['tcp', 'ssh', 'login'].includes(sub)) {
    (values.help ? process.stdout : process.stderr).write(HELP);
    return values.help ? 0 : 2;
  }
  if (!values.app) throw new DrawbridgeError('DB-CONFIG-INVALID', '--app is required');
  const caFile = values.ca ?? process.env.DRAWBRIDGE_CA;
  const target = channelTarget(values.app, values.port ? Number(values.port) : undefined, caFile ? readFileSync(caFile, 'utf8') : undefined);
  if (sub === 'login') return values.token === undefined ? browserLogin(target, values['no-browser'] === true) : login(target, values.token);
  const token = values.token || process.env.DRAWBRIDGE_TOKEN || readCache()[target.host];
  if (!token) throw new DrawbridgeError('DB-TCP-TOKEN-MISSING', `no token for ${target.host}: pass --token, set DRAWBRIDGE_TOKEN, or run drawbridge access login --app ${target.host}`);
  if (sub === 'ssh') return stdio(target, token);
  if (!values.listen) throw new DrawbridgeError('DB-CONFIG-INVALID', '--listen 127.0.0.1:PORT is required');
  return listen(target, token, values.listen);
}

async function login(target: ChannelTarget, given: string): Promise<number> {
  let token = given;
  if (token === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    token = Buffer.concat(chunks).toString('utf8').trim();
  }
  if (!token) throw new DrawbridgeError('DB-TCP-TOKEN-MISSING', 'give the token with --token or on stdin');
  cache(target, token);
  return 0;
}

function cache(target: ChannelTarget, token: string): void {
  const file = credentialsFile();
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify({ ...readCache(), [target.host]: token }, null, 2), { mode: 0o600 });
  process.stderr.write(`drawbridge: token cached for ${target.host} in ${file}\n`);
}

/**
 * The browser sign-in (as `gh auth login`): a one-shot listener on 127.0.0.1, the app host's sign-in page in the
 * browser, and the edge's redirect back with the token and our state (anything else is refused).
 */
async function browserLogin(target: ChannelTarget, noBrowser: boolean): Promise<number> {
  const state = randomBytes(24).toString('base64url');
  let done!: (token: string) => void;
  const received = new Promise<string>((resolve) => { done = resolve; });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const token = url.searchParams.get('token');
    if (url.pathname !== '/callback' || !token || url.searchParams.get('state') !== state) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Not a Drawbridge sign-in answer for this command.\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Signed in</title><p>Signed in to Drawbridge. You can close this tab and return to the terminal.</p>');
    done(token);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const hostPort = target.port === 443 ? target.host : `${target.host}:${target.port}`;
  const address = `https://${hostPort}${CLI_LOGIN_PATH}?${new URLSearchParams({ port: String(port), state })}`;
  process.stderr.write(`drawbridge: sign in at\n  ${address}\n`);
  if (!noBrowser) openBrowser(address);
  const timer = setTimeout(() => { process.stderr.write('drawbridge: no sign-in within 5 minutes\n'); process.exit(1); }, 300_000);
  const token = await received;
  clearTimeout(timer);
  server.close();
  server.closeAllConnections();
  cache(target, token);
  return 0;
}

function openBrowser(address: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [address], { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write('drawbridge: could not open a browser: open the address above yourself\n'));
  child.unref();
}

/** One channel on stdin/stdout: stdin's end half-closes the channel; the app's end of it ends the process. */
async function stdio(target: ChannelTarget, token: string): Promise<number> {
  const channel = await openChannel(target, token);
  return new Promise((resolve) => {
    let broken = false;
    channel.on('error', () => { broken = true; });
    process.stdin.pipe(channel);
    // The app's end of the channel ends the process once stdout is flushed: a process's stdout cannot be closed
    // while it runs, and ssh reads the end of its connection only when the pipe closes.
    channel.pipe(process.stdout, { end: false });
    channel.once('end', () => process.stdout.write('', () => { resolve(0); process.exit(0); }));
    // Closed (cleanly or not): stdout ends so ssh sees the end, and the process goes (stdin may never end by itself).
    channel.once('close', () => {
      process.stdin.unpipe(channel);
      const code = broken || !channel.readableEnded ? 1 : 0;
      process.stdout.end(() => { resolve(code); process.exit(code); });
    });
  });
}

/** A local listener: every accepted connection becomes one channel; failures are reported with their code. */
function listen(target: ChannelTarget, token: string, address: string): Promise<number> {
  const at = address.lastIndexOf(':');
  const host = at > 0 ? address.slice(0, at).replace(/^\[(.*)\]$/, '$1') : '127.0.0.1';
  const port = Number(at >= 0 ? address.slice(at + 1) : address);
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (local) => {
    local.on('error', () => {});
    openChannel(target, token).then((channel) => {
      if (local.destroyed) return void channel.destroy();
      channel.on('error', () => local.destroy());
      local.on('error', () => channel.destroy());
      local.once('close', () => { if (!channel.destroyed && !channel.writableEnded) channel.destroy(); });
      channel.once('close', () => { if (!local.destroyed && !local.writableEnded) local.destroy(); });
      local.pipe(channel);
      channel.pipe(local);
      local.resume();
    }, (err: Error) => {
      process.stderr.write(`drawbridge: ${err instanceof DrawbridgeError ? `${err.code}: ` : ''}${err.message}\n`);
      local.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const bound = server.address() as net.AddressInfo;
      process.stderr.write(`drawbridge: listening on ${bound.address}:${bound.port} for ${target.host}\n`);
      const stop = (): void => { server.close(); resolve(0); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}
