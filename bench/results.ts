/** The shape of `bench/results/<date>.json`: everything one run measured. */
import type { DownloadResult } from './download.ts';
import type { ProfileSummary } from './profile.ts';
import type { IdleResult } from './idle.ts';
import type { RateResult } from './rate.ts';
import type { WrkResult } from './wrk.ts';
import type { H2loadResult } from './h2load.ts';
import type { PageLoadFigures } from './page-load.ts';
import type { PolicyEvalFigures } from './policy-eval.ts';
import type { PairedRuns } from './pairs.ts';

export type PathId =
  | 'direct'
  | 'nginx'
  | 'nginx-tls'
  | 'haproxy'
  | 'caddy'
  | 'drawbridge-passthrough'
  | 'drawbridge-preauth'
  | 'drawbridge-preauth-no-policies'
  | 'drawbridge-workers';

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
  /**
   * Set on the rows built from `--before=<ref>` (a worktree of that commit): its short sha. Rows without it are the
   * tree the bench runs from ("after").
   */
  before?: string;
  available: boolean;
  /** Why the row has no figures (e.g. `drawbridge dev` not there yet). */
  reason?: string;
  url?: string;
  /** 1-minute load average when the row started (above the CPU count: other work was running). */
  loadAverage?: number;
  /** Share of the machine's CPU time the hypervisor stole while the row was measured (0–1; bench/cpu.ts stealShare). */
  stealShare?: number;
  /** Process roles that are the proxy (their CPU is "the proxy's CPU per request"). */
  proxyRoles: string[];
  load: LoadResult[];
  /** Open-loop latency, one per offered rate (settings.rates), in that order. */
  rates: RateResult[];
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
  /** The same measure for the `--before` build (null when not measured). */
  before?: number | null;
  /** The same measure for the Caddy chain, where it makes sense (null when not measured). */
  caddy?: number | null;
  /** Issue 16's targets (the tail, idle memory, CPU) among issue 6's. */
  issue16?: boolean;
  /** Where to look when the target is not met (a profile section, the measure's split). */
  why?: string;
}

export interface Results {
  date: string;
  quick: boolean;
  durationS: number;
  machine: {
    cpus: number;
    kernel: string;
    node: string;
    nginx: string;
    haproxy: string;
    /** Absent in runs from before the Caddy chain row. */
    caddy?: string;
    wrk: string;
    curl: string;
  };
  /** `--before=<ref>`: the ref and its short sha, whose Drawbridge rows are measured beside this tree's. */
  before?: { ref: string; sha: string };
  /** The short sha of the tree the bench ran from (the "after" rows), with `+changes` when it had uncommitted ones. */
  sha?: string;
  /** `--before=<ref>`: both builds' passthrough measured in alternation, round by round (bench/pairs.ts). */
  pairs?: PairedRuns | { error: string };
  settings: {
    wrkDurationS: number;
    repetitions: number;
    connections: number[];
    threads: number;
    /** Offered rates of the open-loop latency client (req/s). */
    rates: number[];
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
