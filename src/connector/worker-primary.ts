import http from 'node:http';
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import { CertificateRenewal } from './enroll/renewal.ts';
import { loadConnectorState } from './enroll/state.ts';
import type { ToPrimary, ToWorker, WorkerMetrics } from './worker-link.ts';

/** A worker that does not answer a scrape within this long is left out of it (it may be dying). */
const SCRAPE_WAIT_MS = 1_000;

/**
 * The primary's side of `connector run --workers N` (worker-link.ts has the worker's): it loads the state dir once
 * (a renewal interrupted before is finished here, before any worker starts), makes and installs renewed
 * certificates for whichever worker the edge asked (one key and one pair of files for the machine, then every
 * worker moves onto it), and serves the metrics port with every worker's series, each labelled with its worker index.
 */
export class ConnectorPrimary {
  readonly connectorId: string;
  readonly #renewal: CertificateRenewal;
  readonly #logger: Logger;
  readonly #live: () => ReadonlyMap<number, Worker>;
  /** Renewal steps one at a time: the pending key and the files are the machine's, not a worker's. */
  #renewing: Promise<unknown> = Promise.resolve();
  readonly #registry = new Registry();
  readonly restarts: Counter;
  #scrapes = 0;
  readonly #scraping = new Map<number, (metrics: WorkerMetrics) => void>();

  static async load(
    stateDir: string,
    logger: Logger,
    live: () => ReadonlyMap<number, Worker>,
  ): Promise<ConnectorPrimary> {
    return new ConnectorPrimary(await loadConnectorState(stateDir), logger, live);
  }

  private constructor(
    state: { stateDir: string; connectorId: string; tunnelCaPem: string },
    logger: Logger,
    live: () => ReadonlyMap<number, Worker>,
  ) {
    this.connectorId = state.connectorId;
    this.#renewal = new CertificateRenewal(state);
    this.#logger = logger.child({ connectorId: state.connectorId });
    this.#live = live;
    this.restarts = new Counter({
      name: 'drawbridge_connector_worker_restarts_total',
      help: 'Connector workers forked again after they exited unexpectedly',
      registers: [this.#registry],
    });
    new Gauge({
      name: 'drawbridge_connector_workers',
      help: 'Connector worker processes running',
      registers: [this.#registry],
      collect() {
        this.set(live().size);
      },
    });
  }

  /** A message from worker `index`; `reply` answers that worker. */
  onMessage(index: number, message: ToPrimary, reply: (message: ToWorker) => void): void {
    if (message.event === 'renewal-csr' || message.event === 'renewal-install') {
      const step = this.#renewing.then(async () => {
        if (message.event === 'renewal-csr')
          return reply({ event: 'renewal-result', id: message.id, csr: await this.#renewal.csr() });
        const installed = await this.#renewal.install(message.certPem);
        this.#logger.info(
          { worker: index, serial: installed.serial, notAfter: installed.notAfter },
          'certificate renewed: every worker moves onto it',
        );
        reply({ event: 'renewal-result', id: message.id, installed });
        for (const [other, worker] of this.#live())
          if (other !== index && worker.isConnected())
            worker.send({
              event: 'certificate',
              keyPem: installed.keyPem,
              certPem: installed.certPem,
            } satisfies ToWorker);
      });
      this.#renewing = step.catch((err: Error) =>
        reply({ event: 'renewal-result', id: message.id, error: err.message }),
      );
    } else if (message.event === 'metrics') this.#scraping.get(message.id)?.(message.metrics);
  }

  /** Every live worker's series (labelled worker="i") and the primary's own, as one exposition. */
  async metrics(): Promise<{ contentType: string; text: string }> {
    const id = this.#scrapes++;
    const workers = [...this.#live().values()].filter((w) => w.isConnected());
    const answers: WorkerMetrics[] = [];
    await new Promise<void>((resolve) => {
      let pending = workers.length;
      const timer = setTimeout(resolve, SCRAPE_WAIT_MS);
      this.#scraping.set(id, (metrics) => {
        answers.push(metrics);
        if (--pending === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
      if (pending === 0) {
        clearTimeout(timer);
        resolve();
      }
      for (const worker of workers) worker.send({ event: 'metrics-request', id } satisfies ToWorker);
    });
    this.#scraping.delete(id);
    const own = (await this.#registry.getMetricsAsJSON()) as WorkerMetrics;
    // Each worker's series carry its own label set, so merging by name only puts them side by side: `sum` keeps
    // every series as it is (prom-client's defaults would average some and drop others across workers).
    const merged = AggregatorRegistry.aggregate(
      [own, ...answers].map((list) => list.map((metric) => ({ ...metric, aggregator: 'sum' as const }))),
    );
    return { contentType: merged.contentType, text: await merged.metrics() };
  }

  /** Listens on 127.0.0.1:`port` (0 = any free port) for Prometheus; resolves to the port. */
  serveMetrics(port: number): Promise<{ port: number; close(): void }> {
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      this.metrics().then(
        ({ contentType, text }) => res.writeHead(200, { 'content-type': contentType }).end(text),
        () => res.writeHead(500).end(),
      );
    });
    return new Promise((resolve) =>
      server.listen(port, '127.0.0.1', () =>
        resolve({ port: (server.address() as { port: number }).port, close: () => server.close() }),
      ),
    );
  }
}
