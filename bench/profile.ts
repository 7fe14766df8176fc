/**
 * `--profile`: runs Drawbridge's processes with V8's sampling profiler (`--cpu-prof`, inherited through
 * NODE_OPTIONS by dev, the edge and the connector) and sums the samples by function, so the report can say where
 * the CPU per request goes. The .cpuprofile files (open them in Chrome DevTools or speedscope for a flame graph)
 * are copied to bench/results/profiles/.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfPercent: number;
}

export function profileEnv(dir: string): NodeJS.ProcessEnv {
  mkdirSync(dir, { recursive: true });
  const existing = process.env.NODE_OPTIONS ? `${process.env.NODE_OPTIONS} ` : '';
  return { NODE_OPTIONS: `${existing}--cpu-prof --cpu-prof-dir=${dir}` };
}

/** Top functions by self time (as a share of the busy, non-idle samples) of the profile written by process `pid`, or null if it wrote none. */
export function hotFunctions(dir: string, pid: number, top = 20): { file: string; functions: HotFunction[] } | null {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.split('.').includes(String(pid)));
  if (!file) return null;
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const self = new Map<string, { name: string; where: string; hits: number }>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits || node.callFrame.functionName === '(idle)') continue;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const where = url ? `${url.replace(/^file:\/\/.*?\/(src|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${name} ${where}`;
    const entry = self.get(key) ?? { name, where, hits: 0 };
    entry.hits += hits;
    self.set(key, entry);
  }
  const functions = [...self.values()]
    .sort((a, b) => b.hits - a.hits)
    .slice(0, top)
    .map((e) => ({ name: e.name, where: e.where, selfPercent: (100 * e.hits) / Math.max(1, total) }));
  return { file, functions };
}

export function keepProfiles(dir: string, destination: string): string[] {
  mkdirSync(destination, { recursive: true });
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  for (const f of files) copyFileSync(join(dir, f), join(destination, f));
  return files;
}
