/**
 * Drawbridge under test: `drawbridge dev` (edge + connector(s) on loopback) with bench apps published on the
 * nginx backend (passthrough and pre-authenticated) and on the WebSocket backend.
 *
 * `dev` writes `<state-dir>/dev.json`: { edgeUrl, adminUrl, adminToken, caCertPath, apps, connectors: [{ id, pid,
 * group }] }. The edge is the `dev` process itself; connectors are the pids dev.json lists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { groupPids } from './cpu.ts';
import type { ProcessSet } from './cpu.ts';
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
}

/** Whether this tree has `drawbridge dev` yet; the reason if not. */
export async function devAvailable(root: string): Promise<{ ok: boolean; reason: string }> {
  if (!existsSync(join(root, CLI))) return { ok: false, reason: `${CLI} does not exist yet` };
  const { code, stdout, stderr } = await run(NODE, [join(root, CLI), 'dev', '--help'], { allowFail: true, timeoutMs: 20_000 });
  if (code !== 0) return { ok: false, reason: `\`drawbridge dev --help\` exited ${code}: ${(stderr || stdout).trim().split('\n')[0]}` };
  return { ok: true, reason: '' };
}

export interface Dev {
  proc: Started;
  info: DevInfo;
  edgePids: () => number[];
  connectorPids: () => number[];
  cpu: ProcessSet[];
  stop(): Promise<void>;
}

export async function startDev(root: string, stateDir: string, backendUrl: string, logFile: string): Promise<Dev> {
  const proc = start(
    'drawbridge dev',
    NODE,
    [join(root, CLI), 'dev', '--state-dir', stateDir, '--port', '0', '--admin-port', '0', '--backend', backendUrl],
    { cwd: root, logFile, env: { ...process.env, NODE_ENV: 'production' } },
  );
  const devJson = join(stateDir, 'dev.json');
  const deadline = Date.now() + 60_000;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  let info: DevInfo | null = null;
  while (!info) {
    if (exited) throw new Error(`drawbridge dev exited before writing dev.json (see ${logFile})`);
    if (Date.now() > deadline) throw new Error(`no ${devJson} after 60 s (see ${logFile})`);
    if (existsSync(devJson)) {
      try {
        info = JSON.parse(readFileSync(devJson, 'utf8')) as DevInfo;
      } catch {
        // being written
      }
    }
    await sleep(200);
  }
  const connectorPids = (): number[] => info.connectors.flatMap((c) => groupPids(c.pid).concat(c.pid)).filter((v, i, a) => a.indexOf(v) === i);
  const edgePids = (): number[] => groupPids(proc.pid).filter((pid) => !connectorPids().includes(pid));
  return {
    proc,
    info,
    edgePids,
    connectorPids,
    cpu: [
      { role: 'edge', pids: edgePids },
      { role: 'connector', pids: connectorPids },
    ],
    stop: () => proc.stop(),
  };
}

async function admin(dev: Dev, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${dev.info.adminUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${dev.info.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Publishes an app named `name` on the dev connector group pointing at `internalUrl`, returns its external URL as
 * a Target (host in no resolver: clients map it to 127.0.0.1 themselves).
 */
export async function publishApp(dev: Dev, name: string, internalUrl: string, preAuth: 'passthrough' | 'idp'): Promise<Target> {
  const tenants = (await admin(dev, 'GET', '/api/v1/tenants')) as Array<{ id: string; name: string }> | { items: Array<{ id: string; name: string }> };
  const list = Array.isArray(tenants) ? tenants : tenants.items;
  const tenant = list[0];
  if (!tenant) throw new Error('the dev edge has no tenant');
  const group = dev.info.connectors[0]?.group;
  const app = (await admin(dev, 'POST', `/api/v1/tenants/${tenant.id}/apps`, {
    name,
    internalUrl,
    connectorGroup: group,
    preAuth,
  })) as { externalUrl: string };
  return target(app.externalUrl);
}
