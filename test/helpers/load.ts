import { request, type Agent } from 'undici';
import WebSocket from 'ws';
import type { ChildProcess } from 'node:child_process';
import { loopbackLookup } from './dev-stack.ts';
import { startChild } from '../../src/cli/child.ts';

/** One request of the fixed-rate load and how it ended. */
export interface Sample {
  kind: 'get' | 'download' | 'post';
  startedAt: number;
  ms: number;
  status: number;
  /** Transport error, DB error code, or short body: null when the request fully succeeded. */
  error: string | null;
  /** The edge's x-drawbridge-retried header: the request was failed over to another connector. */
  retried: string | null;
  /** The response had started when it failed (a download cut mid-body). */
  midBody: boolean;
  /** The edge's x-correlation-id of an error answer: it names the edge's log lines about this request. */
  correlationId: string | null;
}

export interface WsRecord {
  openedAt: number;
  closedAt: number | null;
  closeCode: number | null;
  /** An error event (abrupt reset) rather than a close frame. */
  errored: boolean;
  echoes: number;
  lostEchoes: number;
}

export interface LoadOptions {
  agent: Agent;
  /** Base URL of the app (https://sample-contoso.apps.localhost:PORT). */
  baseUrl: string;
  /** Requests per second, spread evenly. */
  rate: number;
  /** Share of each kind (defaults: 80 % small GETs, 15 % 256 KiB downloads, 5 % POSTs). */
  mix?: { get: number; download: number; post: number };
  downloadBytes?: number;
  /** WebSockets kept open, each echoing a message every 200 ms; a closed one is reopened. */
  websockets?: number;
  /** The dev CA (PEM) for the WebSockets. */
  ca?: string;
}

export interface Load {
  samples: Sample[];
  sockets: WsRecord[];
  pause(): void;
  resume(): void;
  /** Stops sending, waits for in-flight requests, closes the WebSockets. */
  stop(): Promise<void>;
}

/** Fixed-rate open-loop load: requests start on schedule whether or not earlier ones answered. */
export function startLoad(options: LoadOptions): Load {
  const mix = options.mix ?? { get: 0.8, download: 0.15, post: 0.05 };
  const downloadBytes = options.downloadBytes ?? 256 * 1024;
  const samples: Sample[] = [];
  const sockets: WsRecord[] = [];
  const pending = new Set<Promise<void>>();
  const started = performance.now();
  let sent = 0;
  let paused = false;
  let pausedAt = 0;
  let pausedTotal = 0;
  let stopped = false;

  const one = async (kind: Sample['kind']): Promise<void> => {
    const t0 = performance.now();
    const sample: Sample = {
      kind,
      startedAt: t0,
      ms: 0,
      status: 0,
      error: null,
      retried: null,
      midBody: false,
      correlationId: null,
    };
    samples.push(sample);
    try {
      const url =
        kind === 'download' ? `${options.baseUrl}/bytes/${downloadBytes}` : `${options.baseUrl}/echo?n=${sent}`;
      const res = await request(url, {
        dispatcher: options.agent,
        method: kind === 'post' ? 'POST' : 'GET',
        body: kind === 'post' ? JSON.stringify({ n: sent }) : undefined,
        headers: kind === 'post' ? { 'content-type': 'application/json' } : {},
        headersTimeout: 15_000,
        bodyTimeout: 15_000,
      });
      sample.status = res.statusCode;
      sample.retried =
        typeof res.headers['x-drawbridge-retried'] === 'string' ? res.headers['x-drawbridge-retried'] : null;
      const correlationId = res.headers['x-correlation-id'];
      if (typeof correlationId === 'string') sample.correlationId = correlationId;
      let received = 0;
      try {
        for await (const chunk of res.body) received += (chunk as Buffer).length;
      } catch (err) {
        sample.midBody = true;
        throw err;
      }
      if (res.statusCode !== 200)
        sample.error = String(res.headers['x-drawbridge-error'] ?? `status ${res.statusCode}`);
      else if (kind === 'download' && received !== downloadBytes) {
        sample.midBody = true;
        sample.error = `short body ${received}`;
      }
    } catch (err) {
      sample.error = (err as Error & { code?: string }).code ?? (err as Error).message;
    }
    sample.ms = performance.now() - t0;
  };

  const timer = setInterval(() => {
    if (paused || stopped) return;
    const due = Math.floor(((performance.now() - started - pausedTotal) / 1000) * options.rate);
    while (sent < due) {
      sent++;
      const r = (sent * 0.6180339887) % 1; // low-discrepancy mix, deterministic
      const kind: Sample['kind'] = r < mix.get ? 'get' : r < mix.get + mix.download ? 'download' : 'post';
      const p = one(kind).finally(() => pending.delete(p));
      pending.add(p);
    }
  }, 5);

  const wsList: WebSocket[] = [];
  const openWs = (): void => {
    if (stopped) return;
    const ws = new WebSocket(`${options.baseUrl.replace(/^https/, 'wss')}/ws`, {
      ca: options.ca,
      lookup: loopbackLookup as never,
    });
    const rec: WsRecord = {
      openedAt: performance.now(),
      closedAt: null,
      closeCode: null,
      errored: false,
      echoes: 0,
      lostEchoes: 0,
    };
    sockets.push(rec);
    wsList.push(ws);
    let outstanding = 0;
    let tick: NodeJS.Timeout | null = null;
    ws.on('open', () => {
      tick = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) {
          outstanding++;
          ws.send(`ping ${rec.echoes}`);
        }
      }, 200);
    });
    ws.on('message', () => {
      outstanding--;
      rec.echoes++;
    });
    ws.on('error', () => {
      rec.errored = true;
    });
    ws.on('close', (code) => {
      if (tick) clearInterval(tick);
      rec.closedAt = performance.now();
      rec.closeCode = code;
      rec.lostEchoes = Math.max(0, outstanding);
      if (!stopped) setTimeout(openWs, 100);
    });
  };
  for (let i = 0; i < (options.websockets ?? 0); i++) openWs();

  return {
    samples,
    sockets,
    pause() {
      if (!paused) {
        paused = true;
        pausedAt = performance.now();
      }
    },
    resume() {
      if (paused) {
        paused = false;
        pausedTotal += performance.now() - pausedAt;
      }
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...pending]);
      for (const ws of wsList) if (ws.readyState === WebSocket.OPEN) ws.close(1000);
      await new Promise((r) => setTimeout(r, 200));
    },
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Counts, failures and latency figures for a report line. */
export function summarize(samples: Sample[]): {
  total: number;
  failed: Sample[];
  failedIdempotent: Sample[];
  retried: Sample[];
  p50: number;
  p99: number;
} {
  const failed = samples.filter((s) => s.error !== null);
  return {
    total: samples.length,
    failed,
    failedIdempotent: failed.filter((s) => s.kind !== 'post'),
    retried: samples.filter((s) => s.retried !== null),
    p50: percentile(
      samples.map((s) => s.ms),
      50,
    ),
    p99: percentile(
      samples.map((s) => s.ms),
      99,
    ),
  };
}

// --- helpers for the failover and chaos tests: connector processes, group health, metrics ---

export interface HaConnector {
  id: string;
  dir: string;
  process: ChildProcess;
  metricsUrl: string;
}

export interface GroupHealthBody {
  healthyConnectors: number;
  inFlight: number;
  atRisk: boolean;
  warnings: string[];
  connectors: {
    id: string;
    state: string;
    streamsOpened: number;
    inFlight: number;
    rttMs: number | null;
    tunnels: { id: string; state: string }[];
  }[];
}

export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts `drawbridge connector run` on an enrolled state dir and waits for its ready message. */
export async function runConnector(
  dir: string,
  logFile: string,
  drainSeconds = 10,
  extraArgs: string[] = [],
): Promise<{ process: ChildProcess; metricsUrl: string; id: string }> {
  const child = await startChild<{ connectorId: string; metricsPort: number }>(
    [
      'connector',
      'run',
      '--state-dir',
      dir,
      '--drain-seconds',
      String(drainSeconds),
      '--metrics-port',
      '0',
      ...extraArgs,
    ],
    logFile,
  );
  return {
    process: child.process,
    metricsUrl: `http://127.0.0.1:${child.ready.metricsPort}/metrics`,
    id: child.ready.connectorId,
  };
}

/** The connector's drawbridge_connector_requests_total summed over apps and outcomes. */
export async function connectorRequests(metricsUrl: string): Promise<number> {
  const text = await (await request(metricsUrl)).body.text();
  let sum = 0;
  for (const m of text.matchAll(/^drawbridge_connector_requests_total\{[^}]*\} (\d+)/gm)) sum += Number(m[1]);
  return sum;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}
