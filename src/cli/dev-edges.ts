import { writeFile, mkdir } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import net from 'node:net';
import pg from 'pg';
import { Redis } from 'ioredis';
import { stringify as toYaml } from 'yaml';
import type { DevSupervisor } from './dev-supervisor.ts';
import { haproxyAvailable, startHaproxy, type RunningHaproxy } from './haproxy.ts';

/**
 * The edge side of `drawbridge dev`: one node on SQLite (what `npm start` runs, nothing to install), or with
 * `--edges N` a cluster — N nodes on PostgreSQL and Redis behind Debian's haproxy on the public port, each node
 * trusting the PROXY protocol from haproxy's source address only (docs/architecture.md, "Behind a load balancer").
 */
export interface DevEdgesOptions {
  count: number;
  stateDir: string;
  logs: string;
  domain: string;
  /** The public port users and connectors use (haproxy's with several nodes). */
  port: number;
  adminPort: number;
  /** The plain-HTTP redirect port (listen.httpPort), or null for none; a single edge only. */
  httpPort: number | null;
  certs: { certPath: string; keyPath: string };
  trustedProxies: string[];
  /** tracing.enabled of every node (dev --tracing). */
  tracing?: boolean;
  supervisor: DevSupervisor;
  step(message: string): void;
}

export interface DevEdge {
  id: string;
  pid: number;
  /** Reaches this node directly (not through haproxy). */
  url: string;
  /** Its configuration: `drawbridge edge --config <this> --workers 1` starts it again on the same port. */
  config?: string;
}

export interface DevEdges {
  publicPort: number;
  /** The plain-HTTP port redirecting to HTTPS, or null. */
  httpPort: number | null;
  adminPort: number;
  adminToken: string;
  edges: DevEdge[];
  /** How dev seeds the directory: the first node's SQLite state dir, or the cluster's PostgreSQL. */
  store: { kind: 'sqlite'; stateDir: string } | { kind: 'postgres'; url: string };
  stop(): Promise<void>;
}

/** haproxy connects to the nodes from this address; only it is trusted to send the PROXY protocol. */
const HAPROXY_SOURCE = '127.0.0.2';

export async function startDevEdges(o: DevEdgesOptions): Promise<DevEdges> {
  return o.count <= 1 ? startOne(o) : startCluster(o);
}

async function startOne(o: DevEdgesOptions): Promise<DevEdges> {
  const stateDir = path.join(o.stateDir, 'edge');
  const configFile = path.join(o.stateDir, 'edge.yaml');
  await writeFile(
    configFile,
    toYaml({
      stateDir,
      domain: o.domain,
      listen: {
        host: '127.0.0.1',
        port: o.port,
        trustedProxies: o.trustedProxies,
        ...(o.httpPort === null ? {} : { httpPort: o.httpPort }),
      },
      tls: [{ certFile: o.certs.certPath, keyFile: o.certs.keyPath }],
      admin: { host: '127.0.0.1', port: o.adminPort },
      cluster: { nodeId: 'edge-1' },
      ...(o.tracing ? { tracing: { enabled: true } } : {}),
    }),
  );
  o.step('starting the edge');
  const edge = (
    await o.supervisor.start<{ publicPort: number; httpPort: number | null; adminPort: number; adminToken: string }>({
      name: 'the edge',
      kind: 'edge',
      args: ['edge', '--config', configFile],
      logFile: path.join(o.logs, 'edge.log'),
      policy: 'never',
    })
  ).current;
  const { publicPort, adminPort, adminToken } = edge.ready;
  return {
    publicPort,
    httpPort: edge.ready.httpPort ?? null,
    adminPort,
    adminToken,
    edges: [{ id: 'edge-1', pid: edge.process.pid ?? 0, url: `https://${o.domain}:${publicPort}` }],
    store: { kind: 'sqlite', stateDir },
    stop: async () => {},
  };
}

async function startCluster(o: DevEdgesOptions): Promise<DevEdges> {
  const { pgUrl, redisUrl } = await requireClusterServices();
  if (!haproxyAvailable())
    throw new Error('drawbridge dev --edges needs haproxy on PATH to share the public port: apt-get install haproxy');
  // One schema and one Redis prefix per state dir: two dev clusters never share state, a restart keeps it.
  const name = `drawbridge_dev_${createHash('sha256').update(o.stateDir).digest('hex').slice(0, 10)}`;
  const storeUrl = await ensureSchema(pgUrl, name);
  const adminToken = `dba_${randomBytes(24).toString('base64url')}`;
  // The nodes must know the public port (their external URLs) before haproxy takes it.
  const port = o.port === 0 ? await freePort() : o.port;
  o.step(`${o.count} edge nodes on PostgreSQL (${redact(pgUrl)}, schema ${name}) and Redis (${redisUrl})`);

  const startNode = async (
    i: number,
    adminPort: number,
  ): Promise<DevEdge & { publicPort: number; adminPort: number }> => {
    const id = `edge-${i}`;
    const configFile = path.join(o.stateDir, `${id}.yaml`);
    await mkdir(path.join(o.stateDir, id), { recursive: true, mode: 0o700 });
    await writeFile(
      configFile,
      toYaml({
        stateDir: path.join(o.stateDir, id),
        domain: o.domain,
        publicPort: port,
        // A port of its own chosen now, so a node restarted with this file comes back where haproxy looks for it.
        listen: {
          host: '127.0.0.1',
          port: await freePort(),
          trustedProxies: [`${HAPROXY_SOURCE}/32`, ...o.trustedProxies],
        },
        tls: [{ certFile: o.certs.certPath, keyFile: o.certs.keyPath }],
        admin: { host: '127.0.0.1', port: adminPort, token: adminToken },
        store: { kind: 'postgres', url: storeUrl },
        sessions: { kind: 'redis', url: redisUrl, keyPrefix: `${name}:` },
        cluster: { nodeId: id },
        ...(o.tracing ? { tracing: { enabled: true } } : {}),
      }),
    );
    const child = (
      await o.supervisor.start<{ publicPort: number; adminPort: number }>({
        name: `edge node ${i}`,
        kind: 'edge',
        args: ['edge', '--config', configFile, '--workers', '1'],
        logFile: path.join(o.logs, `${id}.log`),
        policy: 'never',
      })
    ).current;
    return {
      id,
      pid: child.process.pid ?? 0,
      url: `https://${o.domain}:${child.ready.publicPort}`,
      config: configFile,
      publicPort: child.ready.publicPort,
      adminPort: child.ready.adminPort,
    };
  };
  // The first node runs the migrations; the others start together once it is up.
  // The admin port of the first node is fixed now too: dev.json's adminUrl stays right when that node restarts.
  const first = await startNode(1, o.adminPort === 0 ? await freePort() : o.adminPort);
  const rest = await Promise.all(Array.from({ length: o.count - 1 }, (_, k) => startNode(k + 2, 0)));
  const nodes = [first, ...rest];

  o.step(`haproxy on port ${port} in front of ${nodes.map((n) => n.id).join(', ')}`);
  const dir = path.join(o.stateDir, 'haproxy');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const haproxy: RunningHaproxy = await startHaproxy(dir, {
    bind: { host: '127.0.0.1', port },
    servers: nodes.map((n) => ({ name: n.id, host: '127.0.0.1', port: n.publicPort })),
    source: HAPROXY_SOURCE,
    healthHost: `login.${o.domain}`,
    statsSocket: path.join(dir, 'stats.sock'),
  });
  await waitFor(
    async () => [...(await haproxy.serverStates()).values()].filter((s) => s.status === 'UP').length === nodes.length,
    30_000,
    () => `haproxy did not see every node healthy:\n${haproxy.output()}`,
  );
  return {
    publicPort: port,
    httpPort: null,
    adminPort: first.adminPort,
    adminToken,
    edges: nodes.map(({ id, pid, url, config }) => ({ id, pid, url, config })),
    store: { kind: 'postgres', url: storeUrl },
    stop: () => haproxy.stop(),
  };
}

/**
 * PostgreSQL and Redis for a dev cluster, from DRAWBRIDGE_PG_URL and DRAWBRIDGE_REDIS_URL (default: the local
 * servers). A missing one is named, with how to start it.
 */
async function requireClusterServices(): Promise<{ pgUrl: string; redisUrl: string }> {
  const pgUrl = process.env.DRAWBRIDGE_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const redisUrl = process.env.DRAWBRIDGE_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const client = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(
      `drawbridge dev --edges needs PostgreSQL at ${redact(pgUrl)} (${(err as Error).message}). Start it (Debian: pg_ctlcluster <version> main start) or set DRAWBRIDGE_PG_URL.`,
    );
  } finally {
    await client.end().catch(() => {});
  }
  const redis = new Redis(redisUrl, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(
      `drawbridge dev --edges needs Redis at ${redisUrl} (${(err as Error).message}). Start it (redis-server --daemonize yes --bind 127.0.0.1) or set DRAWBRIDGE_REDIS_URL.`,
    );
  } finally {
    redis.disconnect();
  }
  return { pgUrl, redisUrl };
}

/** Creates the schema if needed; returns the URL whose search_path selects it. */
async function ensureSchema(pgUrl: string, schema: string): Promise<string> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  } finally {
    await client.end();
  }
  const url = new URL(pgUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.toString();
}

/** A free loopback port for haproxy when the public port is 0 (haproxy itself cannot report the one it took). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, message: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(message());
    await new Promise((r) => setTimeout(r, 200));
  }
}
