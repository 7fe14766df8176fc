import http from 'node:http';
import { Registry, Counter, Gauge, collectDefaultMetrics } from 'prom-client';

/** The connector's Prometheus metrics, served on a local port when `--metrics-port` is given. */
export class ConnectorMetrics {
  readonly registry = new Registry();
  /**
   * Requests by app, then outcome: plain numbers, published at scrape time. prom-client's `inc(labels)` builds and
   * hashes a label key on every call, garbage on every request.
   */
  readonly #requests = new Map<string, Map<string, number>>();
  readonly requests: Counter<'app' | 'outcome'>;
  readonly tunnels: Gauge;
  #connectedTunnels: () => number = () => 0;

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // Read at scrape time from whoever keeps the tunnels (nothing else ever set this gauge, so it stayed 0).
    const connected = (): number => this.#connectedTunnels();
    const requests = this.#requests;
    this.requests = new Counter({
      name: 'drawbridge_connector_requests_total',
      help: 'Requests received through tunnels, by app and outcome',
      labelNames: ['app', 'outcome'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [app, outcomes] of requests) for (const [outcome, n] of outcomes) this.inc({ app, outcome }, n);
      },
    });
    this.tunnels = new Gauge({
      name: 'drawbridge_connector_tunnels',
      help: 'Tunnels connected to the edge',
      registers: [this.registry],
      collect() {
        this.set(connected());
      },
    });
  }

  /** One request through a tunnel, by app id and outcome (`forwarded`, `refused`, or a catalogue code). */
  count(app: string, outcome: string): void {
    let outcomes = this.#requests.get(app);
    if (!outcomes) this.#requests.set(app, (outcomes = new Map()));
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }

  /** Where `drawbridge_connector_tunnels` comes from (the supervisor's count of connected tunnels). */
  countTunnelsWith(connected: () => number): void {
    this.#connectedTunnels = connected;
  }

  /** Listens on 127.0.0.1:`port` (0 = any free port); resolves to the port. */
  serve(port: number): Promise<{ port: number; close(): void }> {
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
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
