import cluster, { type Worker } from 'node:cluster';
import { Backoff } from '../lib/backoff.ts';
import type { Logger } from '../lib/log.ts';
import type { EdgeConfig } from '../config/edge-config.ts';

/**
 * `drawbridge edge --workers N`: N edge nodes in one machine's processes, so an edge machine uses every core. The
 * primary only supervises: Node's cluster module shares the public and admin ports between the workers (it accepts
 * and hands connections round-robin), and each worker is a full edge node — own tunnels, own entry in the node
 * registry, reached directly by connectors and other nodes on a port of its own. Workers share everything else
 * through PostgreSQL and Redis, which is why several workers need both.
 */

/** Env var that tells a forked worker its index (1-based). */
export const WORKER_INDEX_ENV = 'DRAWBRIDGE_EDGE_WORKER';
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

/**
 * Forks `count` workers and keeps them running: one that exits unexpectedly is forked again with backoff. Resolves
 * once every worker is ready; `stop()` sends SIGTERM to all (each drains) and waits for them.
 */
export function superviseWorkers(
  count: number,
  logger: Logger,
): { ready: Promise<WorkersReady>; stop(): Promise<void> } {
  let stopping = false;
  const backoff = new Backoff({ baseMs: 500, maxMs: 30_000 });
  const live = new Map<number, Worker>();
  const readyOf = new Map<
    number,
    { publicPort: number; adminPort: number; adminToken: string; directPort: number; nodeId: string; pid: number }
  >();
  let resolveReady: (value: WorkersReady) => void = () => {};
  let rejectReady: (err: Error) => void = () => {};
  const ready = new Promise<WorkersReady>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });

  const fork = (index: number): void => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    live.set(index, worker);
    worker.on(
      'message',
      (message: {
        event?: string;
        publicPort?: number;
        adminPort?: number;
        adminToken?: string;
        directPort?: number;
        nodeId?: string;
      }) => {
        if (message.event !== 'ready') return;
        readyOf.set(index, {
          publicPort: message.publicPort!,
          adminPort: message.adminPort!,
          adminToken: message.adminToken!,
          directPort: message.directPort!,
          nodeId: message.nodeId!,
          pid: worker.process.pid ?? 0,
        });
        logger.info(
          { worker: index, pid: worker.process.pid, directPort: message.directPort, nodeId: message.nodeId },
          'edge worker ready',
        );
        if (readyOf.size === count) {
          const first = readyOf.get(1)!;
          resolveReady({
            publicPort: first.publicPort,
            adminPort: first.adminPort,
            adminToken: first.adminToken,
            workers: [...readyOf.entries()]
              .sort(([a], [b]) => a - b)
              .map(([i, r]) => ({ index: i, pid: r.pid, directPort: r.directPort, nodeId: r.nodeId })),
          });
        }
      },
    );
    worker.once('exit', (code, signal) => {
      live.delete(index);
      if (stopping) return;
      if (readyOf.size < count && !readyOf.has(index))
        return rejectReady(
          new Error(`edge worker ${index} exited before it was ready (code ${code}, signal ${signal})`),
        );
      const delay = backoff.next();
      logger.warn({ worker: index, code, signal, restartInMs: delay }, 'edge worker exited: starting it again');
      setTimeout(() => {
        if (!stopping) fork(index);
      }, delay).unref();
    });
  };
  for (let i = 1; i <= count; i++) fork(i);

  return {
    ready,
    async stop() {
      stopping = true;
      await Promise.all(
        [...live.values()].map(
          (worker) =>
            new Promise<void>((resolve) => {
              if (worker.isDead()) return resolve();
              worker.once('exit', () => resolve());
              worker.process.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
