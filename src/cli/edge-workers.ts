import type { Logger } from '../lib/log.ts';
import type { EdgeConfig } from '../config/edge-config.ts';
import { superviseWorkers } from './workers.ts';

/**
 * `drawbridge edge --workers N`: N edge nodes in one machine's processes, so an edge machine uses every core. The
 * primary only supervises (workers.ts): Node's cluster module shares the public and admin ports between the workers
 * (it accepts and hands connections round-robin), and each worker is a full edge node — own tunnels, own entry in
 * the node registry, reached directly by connectors and other nodes on a port of its own. Workers share everything
 * else through PostgreSQL and Redis, which is why several workers need both.
 */

/** The admin token the primary resolved once, for every worker (they share the admin port). */
export const ADMIN_TOKEN_ENV = 'DRAWBRIDGE_EDGE_ADMIN_TOKEN';

/** Why this configuration cannot run several workers, or null when it can. */
export function workersRefusal(config: EdgeConfig): string | null {
  if (config.store?.kind !== 'postgres')
    return 'several edge workers share their state: set store: { kind: postgres, url }';
  if (config.sessions?.kind !== 'redis')
    return 'several edge workers share sign-in sessions: set sessions: { kind: redis, url }';
  return null;
}

export interface WorkersReady {
  publicPort: number;
  adminPort: number;
  adminToken: string;
  workers: { index: number; pid: number; directPort: number; nodeId: string }[];
}

interface EdgeWorkerReady extends Record<string, unknown> {
  publicPort: number;
  adminPort: number;
  adminToken: string;
  directPort: number;
  nodeId: string;
}

/**
 * Forks `count` edge workers and keeps them running. Resolves once every worker is ready; `stop()` sends SIGTERM to
 * all (each drains) and waits for them.
 */
export function superviseEdgeWorkers(
  count: number,
  logger: Logger,
): { ready: Promise<WorkersReady>; stop(): Promise<void> } {
  const pool = superviseWorkers<EdgeWorkerReady>({
    count,
    role: 'edge',
    logger,
    onReady: ({ index, pid, ready }) =>
      logger.info({ worker: index, pid, directPort: ready.directPort, nodeId: ready.nodeId }, 'edge node of worker'),
  });
  return {
    ready: pool.ready.then((all) => ({
      publicPort: all[0].ready.publicPort,
      adminPort: all[0].ready.adminPort,
      adminToken: all[0].ready.adminToken,
      workers: all.map((w) => ({ index: w.index, pid: w.pid, directPort: w.ready.directPort, nodeId: w.ready.nodeId })),
    })),
    stop: () => pool.stop(),
  };
}
