/** The shape of `bench/results/<date>.json`: everything one run measured. */
import type { DownloadResult } from './download.ts';
import type { ProfileSummary } from './profile.ts';
import type { IdleResult } from './idle.ts';
import type { RateResult } from './rate.ts';
import type { WrkResult } from './wrk.ts';
import type { H2loadResult } from './h2load.ts';
import type { PageLoadFigures } from './page-load.ts';
import type { PolicyEvalFigures } from './policy-eval.ts';

export type PathId = 'direct' | 'nginx' | 'nginx-tls' | 'haproxy' | 'drawbridge-passthrough' | 'drawbridge-preauth';

export interface LoadResult {
  connections: number;
  /** The repetition with the median requests/s (its latency figures are the ones reported). */
  median: WrkResult;
  runs: WrkResult[];
  /** CPU µs per request of each process role, median over the repetitions. */
  cpuUsPerRequest: Record<string, number>;
}

export interface PathResult {
  id: PathId;
  label: string;
  available: boolean;
  /** Why the row has no figures (e.g. `drawbridge dev` not there yet). */
  reason?: string;
  url?: string;
  /** 1-minute load average when the row started (above the CPU count: other work was running). */
  loadAverage?: number;
  /** Process roles that are the proxy (their CPU is "the proxy's CPU per request"). */
  proxyRoles: string[];
  load: LoadResult[];
  rate?: RateResult;
  downloadSingle?: DownloadResult;
  downloadParallel?: DownloadResult;
  idleTls?: IdleResult;
  idleWebSockets?: IdleResult;
  /** h2load on the same https target: HTTP/2 (several streams per connection) and HTTP/1.1, same clients. */
  h2load?: { h2: H2loadResult; http1: H2loadResult };
  /** With --profile: where each Node process's CPU went during one extra wrk run. */
  profiles?: Record<string, ProfileSummary>;
  /** Measures that failed on this row, with the error (the rest of the row still counts). */
  failures: Record<string, string>;
}

export interface WanRow {
  label: string;
  available: boolean;
  reason?: string;
  note?: string;
  rttMs: number;
  download?: DownloadResult;
}

export interface TargetCheck {
  name: string;
  /** Human-readable target, e.g. "≥ 0.35 × nginx one-hop". */
  goal: string;
  /** The measured value in the goal's terms (a ratio, ms, MB/s, MiB, KiB). */
  measured: number | null;
  unit: string;
  status: 'met' | 'not met' | 'not yet available';
  detail: string;
}

export interface Results {
  date: string;
  quick: boolean;
  durationS: number;
  machine: { cpus: number; kernel: string; node: string; nginx: string; haproxy: string; wrk: string; curl: string };
  settings: {
    wrkDurationS: number;
    repetitions: number;
    connections: number[];
    threads: number;
    rate: number;
    rateDurationS: number;
    idleConnections: number;
    smallFileBytes: number;
    largeFileBytes: number;
    wanDelayMsEachWay: number;
    hostResolution: string;
  };
  paths: PathResult[];
  wan: WanRow[];
  targets: TargetCheck[];
  /** Chromium's page-load time for 60 assets through the edge over the delay relay, HTTP/1.1 and HTTP/2 (issue 14). */
  pageLoad?: PageLoadFigures | { error: string };
  /** Conditional access evaluation per request, in-process (issue 12). */
  policyEval?: PolicyEvalFigures | { error: string };
  notes: string[];
}
