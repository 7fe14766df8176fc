import cluster, { type Worker } from 'node:cluster';
import { Backoff } from '../lib/backoff.ts';
import type { Logger } from '../lib/log.ts';

/**
 * The primary of `--workers N` (the edge's and the connector's): forks N copies of this command with node:cluster and
 * keeps them running. A worker is ready when it sends `{ event: 'ready', … }` over IPC (signals.ts notifyParent); one
 * that exits unexpectedly is forked again under the same index, with backoff. What a worker is and what the primary
 * does besides supervising (shared ports, certificates, metrics) belong to the command.
 */

/** Env var that tells a forked worker its index (1-based). */
export const WORKER_INDEX_ENV = 'DRAWBRIDGE_WORKER';

/** A worker that stayed up this long is forked again after its next exit with the shortest backoff. */
const STABLE_MS = 30_000;

/** This process's worker index (1-based), or 0 when it is not a worker of `superviseWorkers`. */
export function workerIndex(): number {
  return cluster.isWorker ? Number(process.env[WORKER_INDEX_ENV]) || 0 : 0;
}

export interface ReadyWorker<R> {
  index: number;
  pid: number;
  /** The worker's ready message. */
  ready: R;
}

export interface WorkerPool<R> {
  /** Every worker's first ready message, by index; rejects when one exits before it was ever ready. */
  ready: Promise<ReadyWorker<R>[]>;
  /** The live workers by index. */
  live(): ReadonlyMap<number, Worker>;
  /** Stops forking again, sends SIGTERM to every worker (each drains) and waits for them all to exit. */
  stop(): Promise<void>;
}

export function superviseWorkers<R extends Record<string, unknown>>(options: {
  count: number;
  /** For the log lines: "edge", "connector". */
  role: string;
  logger: Logger;
  /** Any message other than `ready` from a worker. */
  onMessage?(index: number, message: Record<string, unknown>, worker: Worker): void;
  /** Each time a worker is ready: its first start, and every time it was forked again (`restarted`). */
  onReady?(worker: ReadyWorker<R>, restarted: boolean): void;
}): WorkerPool<R> {
  const { count, role, logger } = options;
  let stopping = false;
  const live = new Map<number, Worker>();
  const first = new Map<number, ReadyWorker<R>>();
  const backoff = new Map<number, Backoff>();
  let resolveReady: (value: ReadyWorker<R>[]) => void = () => {};
  let rejectReady: (err: Error) => void = () => {};
  const ready = new Promise<ReadyWorker<R>[]>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {}); // the caller awaits it; a rejection after stop() must not go unhandled

  const fork = (index: number): void => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    const startedAt = Date.now();
    live.set(index, worker);
    worker.on('message', (message: Record<string, unknown>) => {
      if (message?.event !== 'ready') return options.onMessage?.(index, message, worker);
      const entry: ReadyWorker<R> = { index, pid: worker.process.pid ?? 0, ready: message as R };
      const restarted = first.has(index);
      logger.info({ worker: index, pid: entry.pid, restarted }, `${role} worker ready`);
      if (!restarted) first.set(index, entry);
      options.onReady?.(entry, restarted);
      if (!restarted && first.size === count) resolveReady([...first.values()].sort((a, b) => a.index - b.index));
    });
    worker.once('exit', (code, signal) => {
      if (live.get(index) === worker) live.delete(index);
      if (stopping) return;
      if (!first.has(index)) {
        // It cannot start (bad arguments or state, a port taken): the others go too, so the primary exits with the error.
        stopping = true;
        for (const other of live.values()) other.process.kill('SIGTERM');
        return rejectReady(
          new Error(`${role} worker ${index} exited before it was ready (code ${code}, signal ${signal})`),
        );
      }
      const retry = backoff.get(index) ?? new Backoff({ baseMs: 500, maxMs: 30_000 });
      backoff.set(index, retry);
      if (Date.now() - startedAt >= STABLE_MS) retry.reset();
      const delay = retry.next();
      logger.warn({ worker: index, code, signal, restartInMs: delay }, `${role} worker exited: starting it again`);
      setTimeout(() => {
        if (!stopping) fork(index);
      }, delay).unref();
    });
  };
  for (let i = 1; i <= count; i++) fork(i);

  return {
    ready,
    live: () => live,
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
