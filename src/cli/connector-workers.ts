import type { Worker } from 'node:cluster';
import type { Logger } from '../lib/log.ts';
import { ConnectorPrimary } from '../connector/worker-primary.ts';
import type { ToPrimary, ToWorker } from '../connector/worker-link.ts';
import { CONNECTOR_RESTART_EXIT_CODE } from '../tunnel/protocol.ts';
import { notifyParent, onShutdown } from './signals.ts';
import { superviseWorkers } from './workers.ts';

/**
 * The primary of `drawbridge connector run --workers N`: N connector processes on one machine, each with its own
 * tunnels (the edge spreads requests over all of them), supervised by workers.ts. The primary holds no tunnel; it
 * owns what the machine has once (connector/worker-primary.ts: the state dir's files and certificate renewal, the
 * metrics port) and the process's lifecycle: SIGTERM, SIGINT or SIGHUP drain every worker before it exits 0, and a
 * rolling restart the edge asked one worker for drains them all, then exits with CONNECTOR_RESTART_EXIT_CODE for
 * the service manager to start the machine's connector again on the installed version.
 */
export async function runConnectorPrimary(options: {
  stateDir: string;
  workers: number;
  metricsPort: number | undefined;
  logger: Logger;
}): Promise<never> {
  const { logger } = options;
  let live: () => ReadonlyMap<number, Worker> = () => new Map();
  const primary = await ConnectorPrimary.load(options.stateDir, logger, () => live());
  let restarting = false;
  const pool = superviseWorkers<{ connectorId: string }>({
    count: options.workers,
    role: 'connector',
    logger,
    onMessage: (index, message, worker) => {
      const m = message as ToPrimary;
      if (m.event === 'restart') return restart(m.reason, index);
      primary.onMessage(index, m, (reply: ToWorker) => {
        if (worker.isConnected()) worker.send(reply);
      });
    },
    onReady: ({ index, pid }, restarted) => {
      if (!restarted) return;
      primary.restarts.inc();
      // drawbridge dev follows it (dev.json lists each connector's worker pids).
      notifyParent({ event: 'worker', index, pid });
    },
  });
  live = pool.live;

  const restart = (reason: string, index: number): void => {
    if (restarting) return;
    restarting = true;
    logger.info(
      { worker: index, reason },
      'restart requested: draining every worker, then exiting for the service manager to start the connector again',
    );
    void pool.stop().finally(() => process.exit(CONNECTOR_RESTART_EXIT_CODE));
  };
  let metrics: { port: number; close(): void } | null = null;
  onShutdown(
    async (signal) => {
      logger.info({ signal }, 'connector workers draining');
      await pool.stop();
      metrics?.close();
    },
    { signals: ['SIGINT', 'SIGTERM', 'SIGHUP'] },
  );
  const ready = await pool.ready;
  metrics = options.metricsPort === undefined ? null : await primary.serveMetrics(options.metricsPort);
  logger.info(
    { connectorId: primary.connectorId, workers: ready.map((w) => ({ worker: w.index, pid: w.pid })) },
    'connector workers ready',
  );
  notifyParent({
    event: 'ready',
    connectorId: primary.connectorId,
    metricsPort: metrics?.port ?? null,
    workers: ready.map((w) => ({ index: w.index, pid: w.pid })),
  });
  return new Promise<never>(() => {});
}
