import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { InstalledCertificate, Renewal } from './enroll/renewal.ts';
import type { RunningConnector } from './connector.ts';

/**
 * `connector run --workers N`: what a worker and its primary say to each other over the cluster's IPC channel. Each
 * worker keeps its own tunnels; the primary owns what is one per machine — the state dir's files (a renewal is
 * installed there once, and every worker moves onto the new certificate), the metrics port (it gathers each
 * worker's series), and the decision to exit for a rolling restart (all workers drain first).
 */

export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** Worker → primary. */
export type ToPrimary =
  | { event: 'renewal-csr'; id: number }
  | { event: 'renewal-install'; id: number; certPem: string }
  | { event: 'restart'; reason: string }
  | { event: 'metrics'; id: number; metrics: WorkerMetrics };

/** Primary → worker. */
export type ToWorker =
  | { event: 'renewal-result'; id: number; csr?: string; installed?: InstalledCertificate; error?: string }
  | { event: 'certificate'; keyPem: string; certPem: string }
  | { event: 'metrics-request'; id: number };

const send = (message: ToPrimary): void => {
  process.send?.(message);
};

/** Renewal as a worker drives it: the primary makes the key, checks and writes the files; this worker gets the pair. */
export class RenewalThroughPrimary implements Renewal {
  #next = 0;
  readonly #waiting = new Map<number, (result: Extract<ToWorker, { event: 'renewal-result' }>) => void>();

  constructor() {
    // Listening from the start: the edge may ask for a CSR as soon as the first tunnel is up.
    process.on('message', (message: ToWorker) => {
      if (message?.event === 'renewal-result') this.#settle(message);
    });
  }

  csr(): Promise<string> {
    return this.#ask((id) => send({ event: 'renewal-csr', id })).then((r) => r.csr ?? '');
  }

  install(certPem: string): Promise<InstalledCertificate> {
    return this.#ask((id) => send({ event: 'renewal-install', id, certPem })).then((r) => {
      if (!r.installed) throw new Error('the primary installed no certificate');
      return r.installed;
    });
  }

  #settle(result: Extract<ToWorker, { event: 'renewal-result' }>): void {
    this.#waiting.get(result.id)?.(result);
    this.#waiting.delete(result.id);
  }

  #ask(post: (id: number) => void): Promise<Extract<ToWorker, { event: 'renewal-result' }>> {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      // The edge gives up on a renewal step long before this; the timer only keeps a lost answer from leaking.
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error('the primary did not answer the renewal step'));
      }, 60_000);
      timer.unref();
      this.#waiting.set(id, (result) => {
        clearTimeout(timer);
        if (result.error !== undefined) reject(new Error(result.error));
        else resolve(result);
      });
      post(id);
    });
  }
}

/** Answers the primary for this worker: a certificate another worker renewed, metrics requests. */
export function listenToPrimary(connector: RunningConnector): void {
  process.on('message', (message: ToWorker) => {
    if (message?.event === 'certificate') connector.supervisor.useCertificate(message.keyPem, message.certPem);
    else if (message?.event === 'metrics-request')
      void connector.metrics.registry
        .getMetricsAsJSON()
        .then((metrics) => send({ event: 'metrics', id: message.id, metrics: metrics as WorkerMetrics }));
  });
}

/** A rolling restart the edge asked this worker for: the primary drains every worker, then exits for its manager. */
export function requestRestart(reason: string): void {
  send({ event: 'restart', reason });
}
