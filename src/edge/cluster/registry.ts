/**
 * The edge node registry (issue 11): every node announces itself — id, advertised address, version, start time, its
 * tunnels per connector and its load — with a heartbeat every second that lives three, in Redis when one is
 * configured (redis-nodes.ts) or else in the store's `edge_nodes` table. A node that stops beating (crash, kill -9,
 * partition) drops out of the list within the TTL; a node shutting down removes itself first.
 * `GET /api/v1/edges` and `drawbridge admin edges list` read the list.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Logger } from 'pino';
import type { EdgeConfig } from '../../config/edge-config.ts';
import type { EdgeNode, EdgeNodeTunnels, Store } from '../../store/types.ts';
import { createRedisEdgeNodes, type EdgeNodes } from './redis-nodes.ts';

export const HEARTBEAT_MS = 1_000;
export const HEARTBEAT_TTL_MS = 3_000;

/** The edge's version: package.json's, read once. */
export const EDGE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** What a node reports about itself at each heartbeat. */
export interface NodeLoad {
  inFlight: number;
  tunnels: EdgeNodeTunnels[];
}

export interface NodeRegistry {
  /** This node's id. */
  readonly id: string;
  readonly advertise: string;
  /** Live nodes, this one included. */
  list(): Promise<EdgeNode[]>;
  /** Stops beating and removes this node from the list. */
  close(): Promise<void>;
}

/** Counts tunnels (and usable ones) per connector from the tunnel registry's list. */
export function tunnelsPerConnector(
  tunnels: Iterable<{ tenantId: string; connectorId: string; groupId: string; usable: boolean }>,
): EdgeNodeTunnels[] {
  const by = new Map<string, EdgeNodeTunnels & { usable: number }>();
  for (const t of tunnels) {
    const row = by.get(t.connectorId);
    if (row) {
      row.tunnels++;
      row.usable += t.usable ? 1 : 0;
    } else
      by.set(t.connectorId, {
        tenantId: t.tenantId,
        connectorId: t.connectorId,
        groupId: t.groupId,
        tunnels: 1,
        usable: t.usable ? 1 : 0,
      });
  }
  return [...by.values()].sort((a, b) => a.connectorId.localeCompare(b.connectorId));
}

/**
 * `cluster.advertise`, or `https://<host>:<port>` from the listen address: the listen host itself, or this machine's
 * name when listening on every interface.
 */
export function advertisedUrl(config: Pick<EdgeConfig, 'listen' | 'cluster'>, listenedPort: number): string {
  if (config.cluster?.advertise) return config.cluster.advertise;
  const host = config.listen.host;
  const name = host === '0.0.0.0' || host === '::' || host === '' ? os.hostname() : host;
  return `https://${name.includes(':') ? `[${name}]` : name}:${listenedPort}`;
}

/** `cluster.nodeId`, or `edge-<host name>-<random>` (new at each start). */
export function nodeIdOf(config: Pick<EdgeConfig, 'cluster'>): string {
  return (
    config.cluster?.nodeId ??
    `edge-${os
      .hostname()
      .split('.')[0]
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '-')}-${randomBytes(3).toString('hex')}`
  );
}

export interface RegistryOptions {
  config: Pick<EdgeConfig, 'listen' | 'cluster' | 'sessions'>;
  /** This node's id (default: nodeIdOf(config)). */
  nodeId?: string;
  store: Store;
  listenedPort: number;
  load(): NodeLoad;
  logger: Logger;
  heartbeatMs?: number;
  ttlMs?: number;
  /**
   * The live nodes, read after each heartbeat: the in-memory view the relay routes by (edge/cluster/relay-peers.ts),
   * so no request ever waits for the registry.
   */
  onNodes?(nodes: EdgeNode[]): void;
}

/** Registers this node (first heartbeat before it returns) and keeps beating until close(). */
export async function startNodeRegistry(options: RegistryOptions): Promise<NodeRegistry> {
  const { config, logger } = options;
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  const ttlMs = options.ttlMs ?? HEARTBEAT_TTL_MS;
  const nodes: EdgeNodes =
    config.sessions?.kind === 'redis'
      ? createRedisEdgeNodes({ url: config.sessions.url, keyPrefix: config.sessions.keyPrefix })
      : { ...options.store.edgeNodes, close: async () => {} };
  const id = options.nodeId ?? nodeIdOf(config);
  const advertise = advertisedUrl(config, options.listenedPort);
  const startedAt = new Date().toISOString();
  const self = (): Omit<EdgeNode, 'lastSeenAt'> => ({
    id,
    advertise,
    version: EDGE_VERSION,
    startedAt,
    ...options.load(),
  });

  let failing = false;
  const beat = async (): Promise<void> => {
    try {
      await nodes.heartbeat(self(), ttlMs);
      if (options.onNodes) options.onNodes(await nodes.list());
      if (failing) logger.info({ nodeId: id }, 'edge node heartbeat restored');
      failing = false;
    } catch (err) {
      // Other nodes will see this one gone until a heartbeat gets through; it keeps serving meanwhile.
      if (!failing) logger.warn({ err, nodeId: id }, 'edge node heartbeat failed');
      failing = true;
    }
  };
  await beat();
  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    running ??= beat().finally(() => {
      running = null;
    });
  }, heartbeatMs);
  timer.unref();
  logger.info({ nodeId: id, advertise, version: EDGE_VERSION }, 'edge node registered');

  let closed: Promise<void> | null = null;
  return {
    id,
    advertise,
    list: () => nodes.list(),
    close() {
      closed ??= (async () => {
        clearInterval(timer);
        await running;
        await nodes
          .remove(id)
          .catch((err: Error) =>
            logger.warn({ err, nodeId: id }, 'edge node could not remove itself; it expires with its heartbeat'),
          );
        await nodes.close();
      })();
      return closed;
    },
  };
}
