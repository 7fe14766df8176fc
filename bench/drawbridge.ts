/**
 * Drawbridge under test: `drawbridge dev --connectors 1` (an edge and one connector on loopback), with the bench's
 * apps published through the admin API on the nginx backend (passthrough, pre-authenticated) and on the WebSocket
 * backend; and, for the WAN run, a second connector whose tunnel goes through the delay relay.
 *
 * `dev` writes `<state-dir>/dev.json`: { edgeUrl, adminUrl, adminToken, caCertPath, apps, connectors: [{ id, pid,
 * group }], edgePid, tenant }. The edge and the connectors are child processes of `dev` (so in the process group the
 * bench started it in: stopping the group stops them all); their CPU and RSS are read by pid.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import { isAlive, withDescendants, type ProcessSet } from './cpu.ts';
import { lookupTo } from './lookup.ts';
import { signInCookie } from './signin.ts';
import { run, start, type Started } from './processes.ts';
import { target, type Target } from './target.ts';

const NODE = process.execPath;
const CLI = 'src/cli/main.ts';

export interface DevInfo {
  edgeUrl: string;
  adminUrl: string;
  adminToken: string;
  caCertPath: string;
  apps: Array<{ name: string; externalUrl: string; preAuth: string }>;
  connectors: Array<{ id: string; pid: number; group: string }>;
  edgePid?: number;
  tenant?: string;
  /** Seeded demo users (dev lists them with their passwords). */
  users?: Array<{ username: string; password: string }>;
}

/** Whether this tree has `drawbridge dev` yet (the reason if not), and its `--help` text (which flags it takes). */
export async function devAvailable(root: string): Promise<{ ok: boolean; reason: string; help: string }> {
  if (!existsSync(join(root, CLI))) return { ok: false, reason: `${CLI} does not exist yet`, help: '' };
  const { code, stdout, stderr } = await run(NODE, [join(root, CLI), 'dev', '--help'], {
    allowFail: true,
    timeoutMs: 20_000,
  });
  if (code !== 0)
    return {
      ok: false,
      reason: `\`drawbridge dev --help\` exited ${code}: ${(stderr || stdout).trim().split('\n')[0]}`,
      help: '',
    };
  return { ok: true, reason: '', help: stdout + stderr };
}

export interface Dev {
  proc: Started;
  info: DevInfo;
  stateDir: string;
  edgePids: () => number[];
  connectorPids: () => number[];
  cpu: ProcessSet[];
  /** 'edge (pid …)' / 'connector (pid …)' for each that is no longer running. */
  dead: () => string[];
  stop(graceMs?: number): Promise<void>;
}

async function readJson<T>(path: string, proc: Started, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (;;) {
    if (existsSync(path)) {
      try {
        return JSON.parse(readFileSync(path, 'utf8')) as T;
      } catch {
        // being written
      }
    }
    if (exited) throw new Error(`${what} exited before writing ${path} (see ${proc.logFile})`);
    if (Date.now() > deadline) throw new Error(`no ${path} after ${timeoutMs / 1000} s (see ${proc.logFile})`);
    await sleep(200);
  }
}

export async function startDev(
  root: string,
  stateDir: string,
  logFile: string,
  env: NodeJS.ProcessEnv = {},
  /** More `dev` flags (e.g. `--connector-workers 2`). */
  extraArgs: string[] = [],
): Promise<Dev> {
  const proc = start(
    'drawbridge dev',
    NODE,
    [
      join(root, CLI),
      'dev',
      '--state-dir',
      stateDir,
      '--port',
      '0',
      '--admin-port',
      '0',
      '--connectors',
      '1',
      ...extraArgs,
    ],
    { cwd: root, logFile, env: { ...process.env, ...env } },
  );
  const info = await readJson<DevInfo>(join(stateDir, 'dev.json'), proc, 90_000, 'drawbridge dev');
  if (!info.edgePid) throw new Error('dev.json has no edgePid: cannot tell the edge process apart');
  const edgePid = info.edgePid;
  // With connector workers, a connector is a primary and the processes it forked: all of them count.
  const connectorPids = (): number[] => info.connectors.flatMap((c) => withDescendants(c.pid));
  return {
    proc,
    info,
    stateDir,
    edgePids: () => [edgePid],
    connectorPids,
    cpu: [
      { role: 'edge', pids: () => [edgePid] },
      { role: 'connector', pids: connectorPids },
    ],
    dead: () => [
      ...(isAlive(edgePid) ? [] : [`edge (pid ${edgePid})`]),
      ...connectorPids()
        .filter((pid) => !isAlive(pid))
        .map((pid) => `connector (pid ${pid})`),
    ],
    stop: (graceMs?: number) => proc.stop(graceMs),
  };
}

export async function admin<T>(dev: Dev, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${dev.info.adminUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${dev.info.adminToken}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`admin API ${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

function tenantPath(dev: Dev): string {
  return `/tenants/${encodeURIComponent(dev.info.tenant ?? 'contoso')}`;
}

/**
 * Publishes an app `name` on connector group `group` pointing at `internalUrl`; returns its external URL as a
 * Target (the host is in no resolver: each client maps it to 127.0.0.1 its own way).
 */
export async function publishApp(
  dev: Dev,
  name: string,
  internalUrl: string,
  preAuth: 'passthrough' | 'idp',
  group = dev.info.connectors[0]?.group ?? 'default',
): Promise<Target> {
  const app = await admin<{ externalUrl: string }>(dev, 'POST', `${tenantPath(dev)}/apps`, {
    name,
    internalUrl,
    groupId: group,
    preAuth,
  });
  // Connectors get the new config pushed; wait until the app answers through the tunnel.
  const t = target(app.externalUrl);
  await waitForApp(t);
  return t;
}

/**
 * Waits until the app answers through a tunnel: retries while the edge says no connector has it yet (the config
 * push is asynchronous) or the port refuses; any other error ends the wait at once.
 */
async function waitForApp(t: Target, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const client = new Client(t.base, { connect: { rejectUnauthorized: false, lookup: lookupTo(t.address) } });
    try {
      const res = await client.request({ method: 'GET', path: '/', headers: t.headers });
      await res.body.arrayBuffer();
      if (res.statusCode < 500) return;
      const code = String(res.headers['x-drawbridge-error'] ?? '');
      last = `status ${res.statusCode} ${code}`;
      if (code !== 'DB-TUNNEL-NO-CONNECTOR' && res.statusCode !== 502 && res.statusCode !== 503) break;
    } catch (err) {
      last = String(err);
    } finally {
      await client.close().catch(() => {});
    }
    await sleep(250);
  }
  throw new Error(`app ${t.base} not answering through the tunnel: ${last}`);
}

/**
 * A connector of its own group whose tunnel dials through `connectAddress` (the delay relay) instead of the edge
 * port, with an app on that group pointing at `internalUrl`. Returns the app and the connector process.
 */
export async function wanConnector(
  root: string,
  dev: Dev,
  connectAddress: string,
  internalUrl: string,
  logFile: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ app: Target; proc: Started }> {
  const t = tenantPath(dev);
  const group = 'bench-wan';
  await admin(dev, 'POST', `${t}/connector-groups`, { name: group });
  const { token } = await admin<{ token: string }>(dev, 'POST', `${t}/enrollment-tokens`, {
    groupId: group,
    ttlSeconds: 600,
  });
  const edge = new URL(dev.info.edgeUrl);
  const stateDir = join(dev.stateDir, 'connector-wan');
  const cli = join(root, CLI);
  await run(
    NODE,
    [
      cli,
      'connector',
      'register',
      '--edge',
      `https://tunnel.${edge.hostname}:${edge.port}`,
      '--token',
      token,
      '--state-dir',
      stateDir,
      '--ca-file',
      dev.info.caCertPath,
      '--connect-address',
      connectAddress,
      '--name',
      'bench-wan',
      '--force',
    ],
    { timeoutMs: 60_000 },
  );
  const proc = start(
    'wan connector',
    NODE,
    [cli, 'connector', 'run', '--state-dir', stateDir, '--tunnels', '1', '--drain-seconds', '1'],
    {
      cwd: root,
      logFile,
      env: { ...process.env, ...env },
    },
  );
  const app = await publishApp(dev, 'bench-wan', internalUrl, 'passthrough', group);
  return { app, proc };
}

/**
 * The pre-authenticated row: `dev` publishes an app with `preAuth: idp` (hr) and seeds demo users assigned to it, so
 * the bench repoints that app at the nginx backend, signs in as the demo user that reaches it (alice) and returns
 * the app as a Target whose every request carries the session cookie.
 */
export async function preauthApp(dev: Dev, internalUrl: string, path: string): Promise<Target> {
  try {
    const idp = dev.info.apps.find((a) => a.preAuth === 'idp');
    if (!idp) throw new Error('dev.json lists no app with preAuth idp');
    const user = dev.info.users?.find((u) => u.username === 'alice') ?? dev.info.users?.[0];
    if (!user) throw new Error('dev.json lists no demo user');
    const t = tenantPath(dev);
    const { items } = await admin<{ items: Array<{ id: string; name: string }> }>(dev, 'GET', `${t}/apps`);
    const app = items.find((a) => a.name === idp.name);
    if (!app) throw new Error(`no app ${idp.name} in the admin API`);
    // The row measures the session checks (the target compares it with passthrough), not single sign-on: dev's hr
    // app sends SSO headers and an edge-signed JWT, which this switches off.
    await admin(dev, 'PATCH', `${t}/apps/${app.id}`, { internalUrl, sso: { mode: 'none' } });
    await waitForApp(target(idp.externalUrl));
    const cookie = await signInCookie(idp.externalUrl, user.username, user.password, path);
    return target(idp.externalUrl, { cookie });
  } catch (err) {
    // Pre-authentication depends on the identity work reaching `drawbridge dev`; until then this row has no figures.
    throw new Error(`not yet available: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The tenant's conditional access policies that are not off (the admin API's view). */
export async function activePolicies(dev: Dev): Promise<Array<{ id: string; name: string; state: string }>> {
  const { items } = await admin<{ items: Array<{ id: string; name: string; state: string }> }>(
    dev,
    'GET',
    `${tenantPath(dev)}/policies`,
  );
  return items.filter((p) => p.state !== 'off');
}

/** Deletes every conditional access policy of the tenant (the edge's policy cache hears of it through the store). */
export async function deletePolicies(dev: Dev): Promise<number> {
  const { items } = await admin<{ items: Array<{ id: string }> }>(dev, 'GET', `${tenantPath(dev)}/policies`);
  for (const p of items) await admin(dev, 'DELETE', `${tenantPath(dev)}/policies/${encodeURIComponent(p.id)}`);
  return items.length;
}
