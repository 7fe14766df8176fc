/**
 * The measures run against one path (direct, a one-hop proxy, Drawbridge): closed-loop load with CPU per request,
 * fixed-rate latency, large downloads, idle connections. Each measure that fails is recorded on the row and the
 * others still run.
 */
import { Client } from 'undici';
import { cpuDelta, sampleCpu, type ProcessSet } from './cpu.ts';
import { download } from './download.ts';
import { idleConnections, idleWebSockets } from './idle.ts';
import { cpuProfile, gcText, startGcPauses, stopGcPauses } from './inspector.ts';
import { lookupTo } from './lookup.ts';
import { saveProfile, summarise } from './profile.ts';
import { fixedRate } from './rate.ts';
import type { LoadResult, PathResult } from './results.ts';
import type { Target } from './target.ts';
import { runWrk, type WrkResult } from './wrk.ts';
import { runH2load } from './h2load.ts';

export interface Settings {
  dir: string;
  quick: boolean;
  wrkDurationS: number;
  repetitions: number;
  connections: number[];
  threads: number;
  /** Offered rates of the open-loop latency client, req/s (1,000 and 3,000). */
  rates: number[];
  rateDurationS: number;
  downloadMaxS: number;
  /** Time limit of the WAN run's download (a slow tunnel would take minutes for 256 MiB). */
  wanMaxS: number;
  idleConnections: number;
  smallPath: string;
  smallBytes: number;
  largePath: string;
  largeBytes: number;
  wsPath: string;
  /** --profile: one extra wrk run per `profileTargets` process under the V8 profiler. */
  profile: boolean;
  resultsDir: string;
}

/** What a started path offers to measure. */
export interface PathUnderTest {
  target: Target;
  /** CPU is read for each set; `proxyRoles` name the sets that make up the proxy. */
  cpu: ProcessSet[];
  proxyRoles: string[];
  /** Processes whose RSS counts for idle connections (the proxy; the edge for Drawbridge). */
  rssPids: () => number[];
  /** Measure idle TLS keep-alive connections against this (an https target), if any. */
  idleTlsTarget?: Target;
  /** Measure idle WebSockets against this target + settings.wsPath, if any, counting these processes' RSS. */
  wsTarget?: Target;
  wsRssPids?: () => number[];
  /** The processes behind `wsRssPids` by role (edge, connector), for each one's share of the WebSocket figure. */
  wsRssRoles?: ProcessSet[];
  /** Compare HTTP/2 with HTTP/1.1 on this https target with h2load, if any. */
  h2Target?: Target;
  /** Node processes to profile with --profile (role, pid). */
  profileTargets?: Array<{ role: string; pid: () => number }>;
  /** The servers are Node processes: force a full GC before reading their RSS (see gc.ts). */
  gcBeforeRss?: boolean;
  /** Skip the 256 MiB downloads (rows that only compare requests, e.g. the --before build). */
  skipDownloads?: boolean;
  /** Skip the idle-connection measures even when targets are given (rows that only compare requests). */
  skipIdle?: boolean;
  /**
   * A check after the probe that the path is what its label says (e.g. the Caddy chain's middle hop is HTTP/2);
   * throwing fails the row.
   */
  verify?: () => Promise<void>;
  /** Names the path's processes that have died (to tell a crash from a slow path); empty when all live. */
  dead?: () => string[];
}

export type Log = (line: string) => void;

/**
 * h2load: the same 60 requests in flight both ways, HTTP/2 as 4 connections of 15 streams, HTTP/1.1 as 60
 * connections. All from one address, so below the connector's share of a backend per client (CLIENT_SHARE, 64),
 * which would otherwise answer the excess with 429.
 */
const H2LOAD_IN_FLIGHT = 60;
const H2LOAD_H2_CLIENTS = 4;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function medianRun(runs: WrkResult[]): WrkResult {
  const sorted = [...runs].sort((a, b) => a.requestsPerSec - b.requestsPerSec);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

async function load(p: PathUnderTest, s: Settings, connections: number, log: Log): Promise<LoadResult> {
  const runs: WrkResult[] = [];
  const cpu: Array<Record<string, number>> = [];
  for (let rep = 0; rep < s.repetitions; rep++) {
    const before = sampleCpu(p.cpu);
    const result = await runWrk(p.target, s.smallPath, {
      connections,
      threads: s.threads,
      durationS: s.wrkDurationS,
      dir: s.dir,
    });
    const used = cpuDelta(before, sampleCpu(p.cpu));
    runs.push(result);
    cpu.push(Object.fromEntries(Object.entries(used).map(([role, sec]) => [role, (sec / result.requests) * 1e6])));
    const errors = Object.values(result.errors).reduce((a, b) => a + b, 0);
    log(
      `    wrk c=${connections} #${rep + 1}: ${Math.round(result.requestsPerSec)} req/s, p99 ${result.latencyMs.p99.toFixed(2)} ms` +
        (errors ? `, ${errors} errors` : ''),
    );
  }
  const roles = Object.keys(cpu[0] ?? {});
  return {
    connections,
    median: medianRun(runs),
    runs,
    cpuUsPerRequest: Object.fromEntries(roles.map((role) => [role, median(cpu.map((c) => c[role]))])),
  };
}

async function attempt(
  row: PathResult,
  p: PathUnderTest,
  name: string,
  log: Log,
  fn: () => Promise<void>,
): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const dead = p.dead?.() ?? [];
    const message =
      (dead.length ? `${dead.join(', ')} died; ` : '') + (err instanceof Error ? err.message : String(err));
    row.failures[name] = message.slice(0, 500);
    log(`    ${name} FAILED: ${message.split('\n')[0]}`);
  }
}

/**
 * One request before measuring: the path must answer 200 with the whole file. (wrk counts 3xx as success, so a
 * sign-in redirect or an error page would otherwise pass as throughput.)
 */
async function probe(t: Target, path: string, expectedBytes: number): Promise<void> {
  const client = new Client(t.base, { connect: { rejectUnauthorized: false, lookup: lookupTo(t.address) } });
  try {
    const res = await client.request({ method: 'GET', path, headers: t.headers });
    const body = Buffer.from(await res.body.arrayBuffer());
    if (res.statusCode !== 200 || body.length !== expectedBytes) {
      const why = res.headers['x-drawbridge-error'] ?? res.headers.location ?? body.toString('utf8').slice(0, 120);
      throw new Error(`probe GET ${t.base}${path}: status ${res.statusCode}, ${body.length} bytes (${String(why)})`);
    }
  } finally {
    await client.close().catch(() => {});
  }
}

export async function measurePath(row: PathResult, p: PathUnderTest, s: Settings, log: Log): Promise<void> {
  row.url = p.target.base;
  row.proxyRoles = p.proxyRoles;
  await probe(p.target, s.smallPath, s.smallBytes);
  await p.verify?.();
  // Idle connections first, while the processes are fresh: after load and 256 MiB downloads the heap holds garbage
  // that a collection may return mid-measure, which would swamp a few MiB of per-connection memory.
  if (p.idleTlsTarget && !p.skipIdle) {
    const t = p.idleTlsTarget;
    await attempt(row, p, 'idle TLS connections', log, async () => {
      row.idleTls = await idleConnections(t, s.smallPath, s.idleConnections, p.rssPids, p.gcBeforeRss);
      log(
        `    ${row.idleTls.opened} idle TLS connections: ${row.idleTls.mibPer1000.toFixed(2)} MiB per 1,000${row.idleTls.gcForced ? ' (after full GC)' : ''}`,
      );
    });
  }
  if (p.wsTarget && !p.skipIdle) {
    const t = p.wsTarget;
    await attempt(row, p, 'idle WebSockets', log, async () => {
      row.idleWebSockets = await idleWebSockets(
        t,
        s.wsPath,
        s.idleConnections,
        p.wsRssPids ?? p.rssPids,
        p.gcBeforeRss,
        p.wsRssRoles,
      );
      log(
        `    ${row.idleWebSockets.opened} idle WebSockets: ${row.idleWebSockets.kibEach.toFixed(1)} KiB each${row.idleWebSockets.gcForced ? ' (after full GC)' : ''}` +
          Object.entries(row.idleWebSockets.kibEachByRole ?? {})
            .map(([role, kib]) => `, ${role} ${kib.toFixed(1)}`)
            .join(''),
      );
    });
  }
  // Warm-up: connections, JIT, caches.
  await attempt(row, p, 'warm-up', log, async () => {
    await runWrk(p.target, s.smallPath, { connections: 16, threads: s.threads, durationS: 1, dir: s.dir });
  });
  for (const connections of s.connections) {
    await attempt(row, p, `wrk c=${connections}`, log, async () => {
      row.load.push(await load(p, s, connections, log));
    });
  }
  for (const rate of s.rates) {
    await attempt(row, p, `fixed rate ${rate}`, log, async () => {
      // The path's Node processes record their GC pauses during the run (bench/inspector.ts).
      const recording: NonNullable<PathUnderTest['profileTargets']> = [];
      for (const t of p.profileTargets ?? []) if (await startGcPauses(t.pid())) recording.push(t);
      const r = await fixedRate(p.target, s.smallPath, { rate, durationS: s.rateDurationS, connections: 64 });
      for (const t of recording) {
        const gc = await stopGcPauses(t.pid());
        if (gc) (r.gc ??= {})[t.role] = gc;
      }
      row.rates.push(r);
      const ms = r.latencyMs;
      log(
        `    ${rate} req/s: p50 ${ms.p50.toFixed(2)} ms, p99 ${ms.p99.toFixed(2)} ms, p99.9 ${ms.p999.toFixed(2)} ms, served ${Math.round(r.servedPerSec)} req/s` +
          (r.errors ? `, ${r.errors} not served in time` : '') +
          Object.entries(r.gc ?? {})
            .map(([role, gc]) => `; ${role} GC ${gcText(gc)}`)
            .join(''),
      );
    });
  }
  if (p.h2Target) {
    const t = p.h2Target;
    await attempt(row, p, 'h2load', log, async () => {
      const common = { durationS: s.wrkDurationS, dir: s.dir };
      const h2 = await runH2load(t, s.smallPath, {
        ...common,
        clients: H2LOAD_H2_CLIENTS,
        streams: H2LOAD_IN_FLIGHT / H2LOAD_H2_CLIENTS,
        http1: false,
      });
      const http1 = await runH2load(t, s.smallPath, { ...common, clients: H2LOAD_IN_FLIGHT, streams: 1, http1: true });
      if (h2.protocol !== 'h2') throw new Error(`h2load negotiated ${h2.protocol}, not h2`);
      row.h2load = { h2, http1 };
      log(
        `    h2load ${H2LOAD_IN_FLIGHT} in flight: HTTP/2 ${Math.round(h2.requestsPerSec)} req/s, HTTP/1.1 ${Math.round(http1.requestsPerSec)} req/s` +
          (h2.failed + h2.non2xx + http1.failed + http1.non2xx
            ? `, ${h2.failed + h2.non2xx} / ${http1.failed + http1.non2xx} not 2xx`
            : ''),
      );
    });
  }
  if (!p.skipDownloads)
    await attempt(row, p, 'download', log, async () => {
      row.downloadSingle = await download(p.target, s.largePath, {
        parallel: 1,
        maxSeconds: s.downloadMaxS,
        expectedBytes: s.largeBytes,
      });
      row.downloadParallel = await download(p.target, s.largePath, {
        parallel: 4,
        maxSeconds: s.downloadMaxS,
        expectedBytes: s.largeBytes,
      });
      log(
        `    256 MiB: ${Math.round(row.downloadSingle.mbPerSec)} MB/s single, ${Math.round(row.downloadParallel.mbPerSec)} MB/s 4-parallel`,
      );
    });
  if (s.profile && p.profileTargets) {
    for (const { role, pid } of p.profileTargets) {
      await attempt(row, p, `profile ${role}`, log, async () => {
        const durationS = s.quick ? 5 : 10;
        const { profile, result } = await cpuProfile(pid(), () =>
          runWrk(p.target, s.smallPath, { connections: 64, threads: s.threads, durationS, dir: s.dir }),
        );
        const file = saveProfile(
          s.resultsDir,
          `${row.id}-${role}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
          profile,
        );
        row.profiles ??= {};
        row.profiles[role] = summarise(profile, file, result.requestsPerSec);
        log(
          `    profiled the ${role} (${row.profiles[role].busyPercent.toFixed(0)}% busy at ${Math.round(result.requestsPerSec)} req/s): ${file}`,
        );
      });
    }
  }
}
