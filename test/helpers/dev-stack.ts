import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface DevJson {
  edgeUrl: string;
  /** The plain-HTTP port that redirects to HTTPS (`http://<domain>:<port>`), or null. */
  httpUrl: string | null;
  adminUrl: string;
  adminToken: string;
  /** The admin console, `https://admin.<domain>:<port>/`. */
  consoleUrl: string;
  caCertPath: string;
  apps: { name: string; externalUrl: string; preAuth: string }[];
  /** `workers`: each process of the connector (one, or N under dev --connector-workers N), followed on restarts. */
  connectors: {
    id: string;
    pid: number;
    group: string;
    metricsUrl: string;
    workers: { index: number; pid: number }[];
  }[];
  edgePid: number;
  /** Every edge node (one unless dev ran with --edges N); url reaches that node directly. */
  edges: { id: string; pid: number; url: string; config?: string }[];
  users: { username: string; password: string; totpSecret?: string; note: string }[];
  /** One console administrator per directory role. */
  admins: { username: string; password: string; role: string }[];
  sampleApps: { name: string; pid: number; internalUrl: string }[];
  tenant: string;
  /** The demo's RDP app (xrdp behind the RD Gateway), or null when xrdp is not installed. */
  rdp: { externalUrl: string; internalUrl: string; host: string } | null;
}

export interface DevStack {
  dir: string;
  dev: DevJson;
  process: ChildProcess;
  /** An HTTP client that trusts the dev CA and dials 127.0.0.1 for every *.apps.localhost host. */
  agent: Agent;
  publicPort: number;
  admin<T = unknown>(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** What dev printed so far (its steps, and a line for each child that exits or restarts). */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `drawbridge dev` exactly as `npm start` does (random ports, temp state dir) and waits for dev.json. `env`
 * is added to the environment of dev and of the processes it starts.
 */
export async function startDevStack(extraArgs: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<DevStack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-test-'));
  const child = fork(MAIN, ['dev', '--state-dir', dir, '--port', '0', '--admin-port', '0', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const devFile = path.join(dir, 'dev.json');
  const deadline = Date.now() + 60_000;
  while (!existsSync(devFile)) {
    if (child.exitCode !== null)
      throw new Error(`drawbridge dev exited (${child.exitCode}):\n${output}\n${logsOf(dir)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`drawbridge dev not ready in 60 s:\n${output}\n${logsOf(dir)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const dev = JSON.parse(await readFile(devFile, 'utf8')) as DevJson;
  const ca = await readFile(dev.caCertPath, 'utf8');
  const publicPort = Number(new URL(dev.edgeUrl).port);
  const agent = new Agent({
    connect: { ca, lookup: loopbackLookup } as never,
    keepAliveTimeout: 1000,
  });
  return {
    dir,
    dev,
    process: child,
    agent,
    publicPort,
    output: () => output,
    async admin<T>(method: string, apiPath: string, body?: unknown) {
      const res = await request(`${dev.adminUrl}/api/v1${apiPath}`, {
        method: method as 'GET',
        headers: {
          authorization: `Bearer ${dev.adminToken}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: (text ? JSON.parse(text) : undefined) as T };
    },
    async stop() {
      await agent.close().catch(() => {});
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      if (!process.env.KEEP_TEST_STATE) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The tail of every log of a dev stack, for failure messages. */
export function logsOf(dir: string): string {
  const logs = path.join(dir, 'logs');
  if (!existsSync(logs)) return '';
  return ['edge.log', 'connector-1.log', 'connector-2.log', 'sample-app.log']
    .filter((f) => existsSync(path.join(logs, f)))
    .map((f) => `--- ${f}\n${readFileSync(path.join(logs, f), 'utf8').split('\n').slice(-15).join('\n')}`)
    .join('\n');
}

/** Every log line of a dev stack (edge nodes, restarted ones included) that names one of these correlation ids. */
export function logLinesFor(dir: string, correlationIds: (string | null)[]): string {
  const ids = correlationIds.filter((id): id is string => id !== null);
  const logs = path.join(dir, 'logs');
  if (ids.length === 0 || !existsSync(logs)) return '';
  const lines: string[] = [];
  for (const file of readdirSync(logs).sort())
    for (const line of readFileSync(path.join(logs, file), 'utf8').split('\n'))
      if (ids.some((id) => line.includes(id))) lines.push(`${file}: ${line}`);
  return `--- log lines of the failed requests (${ids.join(', ')})\n${lines.join('\n')}\n`;
}

/** Resident set size of a process in bytes (Linux). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

export function url(stack: DevStack, appName: string, pathname: string): string {
  const app = stack.dev.apps.find((a) => a.name === appName);
  if (!app) throw new Error(`no app ${appName} in dev.json`);
  return `${app.externalUrl}${pathname}`;
}

/** A `lookup` for net/tls that sends every name to 127.0.0.1 (the dev hosts don't resolve through the system). */
export function loopbackLookup(_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void): void {
  if (options?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
}
