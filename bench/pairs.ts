/**
 * Before and after, paired (`--before=<ref>`): the passthrough path of both builds, both `drawbridge dev`s running
 * side by side, measured in alternation — after then before, then before then after, and so on — so that a drift of
 * the machine's speed during the run falls on both builds alike. The rows of each build are measured minutes apart
 * and so cannot tell a change of the code from a change of the machine: in issue 16's first full run they read
 * 0.73 × for a change that paired runs then found within noise.
 */
import { cpuDelta, sampleCpu, type ProcessSet } from './cpu.ts';
import { median } from './page-load.ts';
import { fixedRate } from './rate.ts';
import type { Target } from './target.ts';
import { runWrk } from './wrk.ts';

/** One measure of one build: wrk at 64 connections, then the open-loop client at 1,000 req/s. */
export interface PairFigures {
  requestsPerSec: number;
  /** The proxy's processes (edge + connector), µs of CPU per request during the wrk run. */
  cpuUsPerRequest: number;
  p99Ms: number;
  p999Ms: number;
}

export interface PairedRuns {
  /** Round i measured the two builds one after the other (`afterFirst[i]` says in which order). */
  after: PairFigures[];
  before: PairFigures[];
  afterFirst: boolean[];
}

/** What the pairing needs of each build's running path. */
export interface PairSide {
  target: Target;
  cpu: ProcessSet[];
  proxyRoles: string[];
}

export interface PairSettings {
  rounds: number;
  wrkDurationS: number;
  rateDurationS: number;
  threads: number;
  path: string;
  dir: string;
}

export const PAIR_RATE = 1000;
const PAIR_CONNECTIONS = 64;

async function measureOnce(side: PairSide, s: PairSettings): Promise<PairFigures> {
  const start = sampleCpu(side.cpu);
  const w = await runWrk(side.target, s.path, {
    connections: PAIR_CONNECTIONS,
    threads: s.threads,
    durationS: s.wrkDurationS,
    dir: s.dir,
  });
  const used = cpuDelta(start, sampleCpu(side.cpu));
  const cpuSeconds = side.proxyRoles.reduce((sum, role) => sum + (used[role] ?? 0), 0);
  const r = await fixedRate(side.target, s.path, {
    rate: PAIR_RATE,
    durationS: s.rateDurationS,
    connections: PAIR_CONNECTIONS,
  });
  return {
    requestsPerSec: w.requestsPerSec,
    cpuUsPerRequest: (cpuSeconds / Math.max(1, w.requests)) * 1e6,
    p99Ms: r.latencyMs.p99,
    p999Ms: r.latencyMs.p999,
  };
}

export async function pairedRuns(
  sides: { after: PairSide; before: PairSide },
  s: PairSettings,
  log: (line: string) => void,
): Promise<PairedRuns> {
  const out: PairedRuns = { after: [], before: [], afterFirst: [] };
  // Warm both up first (connections, JIT) so that neither build's first round pays for it.
  for (const side of [sides.after, sides.before])
    await runWrk(side.target, s.path, { connections: 16, threads: s.threads, durationS: 2, dir: s.dir });
  for (let round = 0; round < s.rounds; round++) {
    const afterFirst = round % 2 === 0;
    out.afterFirst.push(afterFirst);
    for (const which of afterFirst ? (['after', 'before'] as const) : (['before', 'after'] as const)) {
      const figures = await measureOnce(sides[which], s);
      out[which].push(figures);
      log(
        `    round ${round + 1}, ${which}: ${Math.round(figures.requestsPerSec)} req/s, ${figures.cpuUsPerRequest.toFixed(0)} µs CPU per request, p99 ${figures.p99Ms.toFixed(2)} ms at ${PAIR_RATE} req/s`,
      );
    }
  }
  return out;
}

const MEASURES: Array<{ name: string; key: keyof PairFigures; digits: number; better: 'higher' | 'lower' }> = [
  { name: 'req/s, 64 conns', key: 'requestsPerSec', digits: 0, better: 'higher' },
  { name: 'edge + connector CPU µs/request', key: 'cpuUsPerRequest', digits: 0, better: 'lower' },
  { name: `p99 at ${PAIR_RATE.toLocaleString('en-US')} req/s, ms`, key: 'p99Ms', digits: 2, better: 'lower' },
  { name: `p99.9 at ${PAIR_RATE.toLocaleString('en-US')} req/s, ms`, key: 'p999Ms', digits: 2, better: 'lower' },
];

/**
 * Per measure: each round's after ÷ before (the two taken seconds apart) and their median, beside the medians of
 * each build. A ratio whose rounds straddle 1 is within the machine's noise.
 */
export function pairsTable(p: PairedRuns): string {
  const rounds = p.after.length;
  const n = (v: number, digits: number): string =>
    Number.isFinite(v)
      ? v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
      : '—';
  const lines = [
    `| measure | after, median | before, median |${Array.from({ length: rounds }, (_, i) => ` round ${i + 1} after ÷ before |`).join('')} median of the rounds' ratios | better |`,
    `| --- | ---: | ---: |${' ---: |'.repeat(rounds)} ---: | --- |`,
  ];
  for (const m of MEASURES) {
    const ratios = p.after.map((a, i) => a[m.key] / p.before[i][m.key]);
    lines.push(
      `| ${m.name} | ${n(median(p.after.map((a) => a[m.key])), m.digits)} | ${n(median(p.before.map((b) => b[m.key])), m.digits)} |${ratios.map((x) => ` ${n(x, 2)} |`).join('')} **${n(median(ratios), 2)}** | ${m.better} |`,
    );
  }
  return lines.join('\n');
}
