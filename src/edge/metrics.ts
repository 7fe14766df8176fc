import type { ServerResponse } from 'node:http';
import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';
import type { Tunnel } from './tunnel/tunnel.ts';
import { receiveBudget } from './tunnel/receive-budget.ts';

/** Seconds, from a fast API answer to a slow backend (the histogram of whole request durations). */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Set on a response by the request path once it knows the app (edge/proxy/handler.ts). */
const APP = Symbol('drawbridge.app');
type Marked = ServerResponse & { [APP]?: string };

/** The series of one app, kept so a request costs two Map lookups and no label object (prom-client's `labels()`). */
interface AppSeries {
  duration: Histogram.Internal<'app'>;
  /** status → Drawbridge error code ('' for none) → requests; published at scrape time (prom-client hashes labels). */
  byStatus: Map<number, Map<string, number>>;
}

/**
 * The edge's Prometheus metrics, served at `<admin URL>/metrics` (admin/admin-api.ts). Requests are counted once, when
 * their response closes (edge.ts), by app, HTTP status and Drawbridge error code; tunnels and connectors are read
 * from the tunnel registry at scrape time.
 */
export class EdgeMetrics {
  readonly registry = new Registry();
  readonly #duration = new Histogram({
    name: 'drawbridge_edge_request_duration_seconds',
    help: 'Request durations from arrival to the end of the response, by app id',
    labelNames: ['app'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly #signins = new Counter({
    name: 'drawbridge_edge_signins_total',
    help: 'Sign-in log events, by event and result',
    labelNames: ['event', 'result'] as const,
    registers: [this.registry],
  });
  readonly #relay = new Counter({
    name: 'drawbridge_edge_relay_streams_total',
    help: 'Streams relayed between edge nodes: out = sent to a peer node, in = taken from one',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly #relayOut = this.#relay.labels('out');
  readonly #relayIn = this.#relay.labels('in');
  readonly #series = new Map<string, AppSeries>();
  readonly #signinSeries = new Map<string, Counter.Internal>();
  #tunnels: () => Tunnel[] = () => [];

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'drawbridge_edge_' });
    const series = this.#series;
    new Counter({
      name: 'drawbridge_edge_requests_total',
      help: "Requests answered, by app id (empty: the edge's own hosts or no app), HTTP status (0: the client left before an answer) and Drawbridge error code (empty: none)",
      labelNames: ['app', 'status', 'code'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [app, { byStatus }] of series)
          for (const [status, byCode] of byStatus)
            for (const [code, n] of byCode) this.inc({ app, status: String(status), code }, n);
      },
    });
    const tunnels = (): Tunnel[] => this.#tunnels().filter((t) => !t.relay);
    new Gauge({
      name: 'drawbridge_edge_tunnels',
      help: 'Connector tunnels held by this edge node, by state (healthy, ejected, draining, closing)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const state of ['healthy', 'ejected', 'draining', 'closing'] as const) this.set({ state }, 0);
        for (const t of tunnels()) this.inc({ state: t.state });
      },
    });
    new Gauge({
      name: 'drawbridge_edge_connectors',
      help: 'Connectors with at least one tunnel to this edge node',
      registers: [this.registry],
      collect() {
        this.set(new Set(tunnels().map((t) => t.connectorId)).size);
      },
    });
    new Gauge({
      name: 'drawbridge_edge_tunnel_streams_in_flight',
      help: 'Streams open in connector tunnels of this edge node',
      registers: [this.registry],
      collect() {
        this.set(tunnels().reduce((sum, t) => sum + t.inFlight, 0));
      },
    });
    new Gauge({
      name: 'drawbridge_edge_tunnel_unread_bytes',
      help: 'Response bytes held in tunnel streams for clients that have not read them yet (slow readers), at the last check of the receive budget',
      registers: [this.registry],
      collect() {
        this.set(receiveBudget.unreadBytes);
      },
    });
    new Counter({
      name: 'drawbridge_edge_tunnel_receive_brakes_total',
      help: "Times a tunnel's stream windows were lowered because unread data passed the receive budget (DRAWBRIDGE_EDGE_RECEIVE_BUDGET)",
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(receiveBudget.brakes);
      },
    });
  }

  /** Where the tunnel gauges read from (the tunnel registry). */
  readTunnelsFrom(all: () => Tunnel[]): void {
    this.#tunnels = all;
  }

  /** The request path names the app of a response as soon as it has routed it. */
  static markApp(res: ServerResponse, appId: string): void {
    (res as Marked)[APP] = appId;
  }

  /** A response closed: count it and observe its duration (`startedAt` from performance.now()). */
  requestDone(res: ServerResponse, startedAt: number): void {
    const app = (res as Marked)[APP] ?? '';
    let series = this.#series.get(app);
    if (!series) {
      series = { duration: this.#duration.labels(app), byStatus: new Map() };
      this.#series.set(app, series);
    }
    series.duration.observe((performance.now() - startedAt) / 1000);
    const status = res.headersSent ? res.statusCode : 0;
    const error = res.headersSent ? res.getHeader('x-drawbridge-error') : undefined;
    const code = typeof error === 'string' ? error : '';
    let byCode = series.byStatus.get(status);
    if (!byCode) series.byStatus.set(status, (byCode = new Map()));
    byCode.set(code, (byCode.get(code) ?? 0) + 1);
  }

  signIn(event: string, result: string): void {
    const key = `${event}\n${result}`;
    let counter = this.#signinSeries.get(key);
    if (!counter) this.#signinSeries.set(key, (counter = this.#signins.labels(event, result)));
    counter.inc();
  }

  relayed(direction: 'in' | 'out'): void {
    (direction === 'in' ? this.#relayIn : this.#relayOut).inc();
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
