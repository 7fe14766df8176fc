/**
 * `--profile`: where Drawbridge's CPU per request goes. During one extra wrk run per process, the edge (then the
 * connector) is profiled through its inspector (inspector.ts) — only the load, not start-up or the other measures.
 * The report lists the hottest functions and files by self time; the .cpuprofile files are written to
 * bench/results/profiles/ (open them in Chrome DevTools or speedscope for a flame graph).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

export interface Hot {
  name: string;
  selfPercent: number;
}

export interface ProfileSummary {
  file: string;
  requestsPerSec: number;
  /** Share of the samples in which the process was busy (not idle): its CPU load during the run. */
  busyPercent: number;
  functions: Hot[];
  files: Hot[];
}

function where(url: string): string {
  if (!url) return '(native)';
  return url.replace(/^file:\/\/.*?\/(src|node_modules)\//, '$1/');
}

function top(map: Map<string, number>, total: number, n: number): Hot[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, hits]) => ({ name, selfPercent: (100 * hits) / Math.max(1, total) }));
}

/** Self time by function and by file, as shares of the busy (non-idle) samples. */
export function summarise(raw: unknown, file: string, requestsPerSec: number, n = 20): ProfileSummary {
  const profile = raw as CpuProfile;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += hits;
      continue;
    }
    busy += hits;
    const w = where(url);
    const fn = `${functionName || '(anonymous)'}${url ? ` ${w}:${lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + hits);
    const key = url ? w : functionName;
    byFile.set(key, (byFile.get(key) ?? 0) + hits);
  }
  return {
    file,
    requestsPerSec,
    busyPercent: (100 * busy) / Math.max(1, busy + idle),
    functions: top(byFunction, busy, n),
    files: top(byFile, busy, n),
  };
}

/** Writes the profile where the report points, returns its path relative to the repository. */
export function saveProfile(resultsDir: string, name: string, raw: unknown): string {
  const dir = join(resultsDir, 'profiles');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), JSON.stringify(raw));
  return `bench/results/profiles/${name}`;
}
