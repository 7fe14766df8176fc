/**
 * `drawbridge access …`: native clients to TCP apps (issue 13).
 *
 *   access tcp --app <url|host> --listen 127.0.0.1:PORT   a local listener: each connection is one channel
 *   access ssh --app <host>                               stdin/stdout as one channel, for ssh's ProxyCommand
 *   access login --app <url|host>                         signs in with the browser (loopback redirect) and caches
 *                                                         the user's token for the app's host (0600)
 *   access login --app <url|host> --device                the same from a machine without a browser: a code to
 *                                                         enter in a browser anywhere (device-code flow)
 *   access login --app <url|host> --token T|-             caches a given token (a service token; - reads stdin)
 *
 * The token: --token, else DRAWBRIDGE_TOKEN, else the one cached for the host by `access login`.
 */
import net from 'node:net';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { CLI_DEVICE_PATH, CLI_DEVICE_TOKEN_PATH, CLI_LOGIN_PATH } from '../lib/tcp-target.ts';
import { channelTarget, openChannel, type ChannelTarget } from './access-channel.ts';

const HELP = `drawbridge access — reach a TCP app (SSH, a database) published through Drawbridge

Usage:
  drawbridge access tcp --app <external url|host> --listen 127.0.0.1:PORT
  drawbridge access ssh --app <host>      (ssh -o ProxyCommand='drawbridge access ssh --app %h' user@host)
  drawbridge access login --app <external url|host> [--no-browser]    (sign in with the browser; caches the token)
  drawbridge access login --app <external url|host> --device          (no browser here: enter a code elsewhere)
  drawbridge access login --app <external url|host> --token TOKEN|-   (cache a service token; - reads stdin)

Options:
  --app URL|HOST   the app's external URL or host name
  --port N         the edge's public port (default: the URL's, else 443)
  --token TOKEN    a service token (<id>.<secret>); default $DRAWBRIDGE_TOKEN, then the cached one
  --ca FILE        also trust this CA certificate (the demo's: <state dir>/edge/ca.pem); default $DRAWBRIDGE_CA
  --listen A:P     (tcp) the local address to listen on
  --no-browser     (login) print the sign-in address instead of opening a browser
  --device         (login) sign in with a code entered in a browser on another device
`;

const OPTIONS = {
  app: { type: 'string' },
  port: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
  listen: { type: 'string' },
  'no-browser': { type: 'boolean' },
  device: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
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
  const target = channelTarget(
    values.app,
    values.port ? Number(values.port) : undefined,
    caFile ? readFileSync(caFile, 'utf8') : undefined,
  );
  if (sub === 'login') {
    if (values.token !== undefined) return login(target, values.token);
    return values.device ? deviceLogin(target) : browserLogin(target, values['no-browser'] === true);
  }
  const token = values.token || process.env.DRAWBRIDGE_TOKEN || readCache()[target.host];
  if (!token)
    throw new DrawbridgeError(
      'DB-TCP-TOKEN-MISSING',
      `no token for ${target.host}: pass --token, set DRAWBRIDGE_TOKEN, or run drawbridge access login --app ${target.host}`,
    );
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
  const received = new Promise<string>((resolve) => {
    done = resolve;
  });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const token = url.searchParams.get('token');
    if (url.pathname !== '/callback' || !token || url.searchParams.get('state') !== state) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('Not a Drawbridge sign-in answer for this command.\n');
      return;
    }
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
      .end(
        '<!doctype html><title>Signed in</title><p>Signed in to Drawbridge. You can close this tab and return to the terminal.</p>',
      );
    done(token);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const hostPort = target.port === 443 ? target.host : `${target.host}:${target.port}`;
  const address = `https://${hostPort}${CLI_LOGIN_PATH}?${new URLSearchParams({ port: String(port), state })}`;
  process.stderr.write(`drawbridge: sign in at\n  ${address}\n`);
  if (!noBrowser) openBrowser(address);
  const timer = setTimeout(() => {
    process.stderr.write('drawbridge: no sign-in within 5 minutes\n');
    process.exit(1);
  }, 300_000);
  const token = await received;
  clearTimeout(timer);
  server.close();
  server.closeAllConnections();
  cache(target, token);
  return 0;
}

/** POSTs JSON to the app host (the edge's device-code endpoints); resolves with the status and parsed body. */
function postJson(
  target: ChannelTarget,
  pathname: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: target.connectHost,
        port: target.port,
        servername: target.host,
        path: pathname,
        method: 'POST',
        headers: {
          host: target.port === 443 ? target.host : `${target.host}:${target.port}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          accept: 'application/json',
        },
        ...(target.ca ? { ca: [...tls.rootCertificates, target.ca] } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            /* an error page */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Device-code sign-in: show the code and where to enter it, then poll until the person approved it. */
async function deviceLogin(target: ChannelTarget): Promise<number> {
  const started = await postJson(target, CLI_DEVICE_PATH, {});
  if (started.status !== 200)
    throw new DrawbridgeError(
      'DB-TCP-NOT-TCP-APP',
      `the app host refused a device sign-in (HTTP ${started.status}): is ${target.host} a TCP app?`,
    );
  const { deviceCode, userCode, verificationUri } = started.body as {
    deviceCode: string;
    userCode: string;
    verificationUri: string;
  };
  let interval = Number(started.body.interval ?? 2);
  const deadline = Date.now() + Number(started.body.expiresIn ?? 600) * 1000;
  process.stderr.write(
    `drawbridge: open ${verificationUri}\n  in a browser, sign in, and enter the code ${userCode}\n`,
  );
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, interval * 1000));
    const polled = await postJson(target, CLI_DEVICE_TOKEN_PATH, { deviceCode });
    if (polled.status === 200 && typeof polled.body.token === 'string') {
      cache(target, polled.body.token);
      return 0;
    }
    if (polled.body.error === 'slow_down') interval += 2;
    else if (polled.body.error !== 'authorization_pending') break;
  }
  process.stderr.write('drawbridge: the code expired before it was entered; run the command again\n');
  return 1;
}

function openBrowser(address: string): void {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(opener, [address], { stdio: 'ignore', detached: true });
  child.on('error', () =>
    process.stderr.write('drawbridge: could not open a browser: open the address above yourself\n'),
  );
  child.unref();
}

/** One channel on stdin/stdout: stdin's end half-closes the channel; the app's end of it ends the process. */
async function stdio(target: ChannelTarget, token: string): Promise<number> {
  const channel = await openChannel(target, token);
  return new Promise((resolve) => {
    let broken = false;
    channel.on('error', () => {
      broken = true;
    });
    process.stdin.pipe(channel);
    // The app's end of the channel ends the process once stdout is flushed: a process's stdout cannot be closed
    // while it runs, and ssh reads the end of its connection only when the pipe closes.
    channel.pipe(process.stdout, { end: false });
    channel.once('end', () =>
      process.stdout.write('', () => {
        resolve(0);
        process.exit(0);
      }),
    );
    // Closed (cleanly or not): stdout ends so ssh sees the end, and the process goes (stdin may never end by itself).
    channel.once('close', () => {
      process.stdin.unpipe(channel);
      const code = broken || !channel.readableEnded ? 1 : 0;
      process.stdout.end(() => {
        resolve(code);
        process.exit(code);
      });
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
    openChannel(target, token).then(
      (channel) => {
        if (local.destroyed) return void channel.destroy();
        channel.on('error', () => local.destroy());
        local.on('error', () => channel.destroy());
        local.once('close', () => {
          if (!channel.destroyed && !channel.writableEnded) channel.destroy();
        });
        channel.once('close', () => {
          if (!local.destroyed && !local.writableEnded) local.destroy();
        });
        local.pipe(channel);
        channel.pipe(local);
        local.resume();
      },
      (err: Error) => {
        process.stderr.write(`drawbridge: ${err instanceof DrawbridgeError ? `${err.code}: ` : ''}${err.message}\n`);
        local.destroy();
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const bound = server.address() as net.AddressInfo;
      process.stderr.write(`drawbridge: listening on ${bound.address}:${bound.port} for ${target.host}\n`);
      const stop = (): void => {
        server.close();
        resolve(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
  });
}
