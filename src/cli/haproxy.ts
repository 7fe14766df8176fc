import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

/**
 * Debian's haproxy in front of edge nodes, as docs/architecture.md ("Behind a load balancer") documents it: TCP mode,
 * PROXY protocol v2 to each node from one source address (the only one the nodes trust), and an HTTPS health check of
 * GET /healthz on the sign-in host, which fails while a node drains. Used by `drawbridge dev --edges N` and the tests.
 */
export interface HaproxyOptions {
  /** Where clients connect. */
  bind: { host: string; port: number };
  /** Edge nodes (their public ports). */
  servers: { name: string; host: string; port: number }[];
  /** Address haproxy connects from (the nodes' listen.trustedProxies). */
  source: string;
  /** Host name the health check asks for (the edge's sign-in host). */
  healthHost: string;
  /** Admin socket for `show stat`. */
  statsSocket: string;
}

export function haproxyAvailable(): boolean {
  return !spawnSync('haproxy', ['-v']).error;
}

export function haproxyConfig(o: HaproxyOptions): string {
  const servers = o.servers.map(
    (s) =>
      `  server ${s.name} ${s.host}:${s.port} source ${o.source} send-proxy-v2 check check-ssl verify none check-sni ${o.healthHost} inter 500 fall 2 rise 1`,
  );
  return `global
  stats socket ${o.statsSocket} mode 600 level admin

defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch

frontend public
  bind ${o.bind.host}:${o.bind.port}
  default_backend edges

backend edges
  option httpchk
  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host ${o.healthHost}
  http-check expect status 200
${servers.join('\n')}
`;
}

export interface RunningHaproxy {
  process: ChildProcess;
  /** What haproxy printed (for failure messages). */
  output(): string;
  /** Each server's status (UP, DOWN …) and last check result (L7OK …), from the stats socket. */
  serverStates(): Promise<Map<string, { status: string; check: string }>>;
  stop(): Promise<void>;
}

/** Writes the configuration into `dir` and runs haproxy in the foreground (-db) as a child. */
export async function startHaproxy(dir: string, options: HaproxyOptions): Promise<RunningHaproxy> {
  const file = path.join(dir, 'haproxy.cfg');
  await writeFile(file, haproxyConfig(options));
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  return {
    process: child,
    output: () => output,
    serverStates: () => serverStates(options.statsSocket),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function serverStates(statsSocket: string): Promise<Map<string, { status: string; check: string }>> {
  const csv = await new Promise<string>((resolve, reject) => {
    const socket = net.connect(statsSocket);
    let out = '';
    socket.on('connect', () => socket.write('show stat\n'));
    socket.on('data', (d: Buffer) => {
      out += d.toString();
    });
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
  const [head, ...rows] = csv.trim().split('\n');
  const columns = head.replace(/^# /, '').split(',');
  const at = (row: string[], name: string): string => row[columns.indexOf(name)];
  const states = new Map<string, { status: string; check: string }>();
  for (const row of rows.map((r) => r.split(','))) {
    if (at(row, 'pxname') === 'edges' && at(row, 'svname') !== 'BACKEND')
      states.set(at(row, 'svname'), { status: at(row, 'status'), check: at(row, 'check_status') });
  }
  return states;
}
