/**
 * Open-loop, fixed-rate latency (wrk2-style) with undici.
 *
 * Requests are started on a fixed schedule (rate per second) whether or not earlier ones have finished, over a pool
 * of keep-alive connections, so a slow server is seen as queueing instead of lowering the offered load. Latency of
 * a request runs from the moment it was issued to its last body byte; if all pool connections are busy, the wait for
 * one counts too. The first second is a warm-up (connections, TLS handshakes) and is not recorded. The report also
 * gives how late the schedule ran (`lagP99Ms`): if that is large, the client, not the server, was the bottleneck.
 */
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { lookupTo } from './lookup.ts';
import type { Target } from './target.ts';
import type { GcPauses } from './inspector.ts';

export interface RateResult {
  rate: number;
  durationS: number;
  sent: number;
  ok: number;
  errors: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number };
  lagP99Ms: number;
  /**
   * Requests answered after the warm-up per second, from the first scheduled issue after it to the last answer: a
   * path that keeps up serves close to `rate`; one that queues serves less (and answers late, while counting as
   * served).
   */
  servedPerSec: number;
  /** Node processes of the path (edge, connector): their GC pauses during the run, by role (bench/inspector.ts). */
  gc?: Record<string, GcPauses>;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

export async function fixedRate(
  t: Target,
  path: string,
  options: { rate: number; durationS: number; connections: number; warmupS?: number },
): Promise<RateResult> {
  const warmupS = options.warmupS ?? 1;
  const pool = new Pool(t.base, {
    connections: options.connections,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    connect: { rejectUnauthorized: false, lookup: lookupTo(t.address) },
  });
  const total = Math.round(options.rate * (options.durationS + warmupS));
  const skip = Math.round(options.rate * warmupS);
  const latencies = new Float64Array(total - skip);
  const lags = new Float64Array(total - skip);
  let recorded = 0;
  let ok = 0;
  let errors = 0;
  let issued = 0;
  let finished = 0;
  let lastDone = 0;
  const interval = 1000 / options.rate;

  const send = (i: number, lag: number): void => {
    const started = performance.now();
    pool
      .request({ method: 'GET', path, headers: t.headers })
      .then(async ({ statusCode, body }) => {
        await body.arrayBuffer();
        if (statusCode >= 400) throw new Error(`status ${statusCode}`);
        if (i >= skip) {
          lastDone = performance.now();
          // Packed in completion order: with some requests failed or unfinished, slots by request index would leave
          // zeros inside the first `recorded` slots and drop answers beyond them.
          latencies[recorded] = lastDone - started;
          lags[recorded] = lag;
          recorded++;
        }
        ok++;
      })
      .catch(() => {
        errors++;
      })
      .finally(() => {
        finished++;
      });
  };

  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor((now - t0) / interval) + 1);
      while (issued < due) {
        send(issued, now - (t0 + issued * interval));
        issued++;
      }
      if (issued < total) setTimeout(tick, Math.max(0, t0 + issued * interval - performance.now()));
      else resolve();
    };
    tick();
  });
  // Wait (bounded) for what is still in flight; what has not finished by then counts as errors (a path that cannot
  // sustain the rate shows as such rather than stretching the run: 5 s late is not served in time).
  const deadline = performance.now() + Math.min(5_000, options.durationS * 1000);
  while (finished < issued && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await pool.destroy();

  const sorted = latencies.slice(0, recorded).sort();
  const lagSorted = lags.slice(0, recorded).sort();
  return {
    rate: options.rate,
    durationS: options.durationS,
    sent: issued,
    ok,
    errors: errors + (issued - finished),
    latencyMs: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      p999: percentile(sorted, 99.9),
      max: sorted.length ? sorted[sorted.length - 1] : Number.NaN,
    },
    lagP99Ms: percentile(lagSorted, 99),
    servedPerSec: recorded > 0 ? recorded / ((lastDone - (t0 + skip * interval)) / 1000) : 0,
  };
}
