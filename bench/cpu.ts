/**
 * CPU time and memory of processes, from /proc.
 *
 * `/proc/<pid>/stat` fields 14 and 15 (utime, stime) count clock ticks of all the process's threads; the bench
 * reads them before and after a load run and divides by the requests served. Ticks are 10 ms (CLK_TCK 100), so runs
 * must be seconds long for the figure to mean something.
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100;

/** utime + stime of one process in seconds; 0 if it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

export function sumCpu(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

/** Resident set size of one process in bytes (VmRSS); 0 if it is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export function sumRss(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
}

/** All live processes whose process group is `pgid` (a detached child and the workers it forked). */
export function groupPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** `pid` and every live process below it (a connector's primary and the workers it forked). */
export function withDescendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift() as number;
    out.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return out;
}

/** A named set of processes whose CPU the bench measures (e.g. "edge", "connector", "nginx proxy"). */
export interface ProcessSet {
  role: string;
  pids: () => number[];
}

export interface CpuSample {
  role: string;
  seconds: number;
}

export function sampleCpu(sets: ProcessSet[]): CpuSample[] {
  return sets.map((s) => ({ role: s.role, seconds: sumCpu(s.pids()) }));
}

/** CPU seconds used by each set between two samples. */
export function cpuDelta(before: CpuSample[], after: CpuSample[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of after) {
    const b = before.find((x) => x.role === a.role);
    out[a.role] = a.seconds - (b?.seconds ?? 0);
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The machine's CPU time so far, from /proc/stat's first line: all of it, and what the hypervisor stole. */
export interface MachineTicks {
  total: number;
  steal: number;
}

/** Parses /proc/stat's aggregate `cpu` line (user nice system idle iowait irq softirq steal …, in ticks). */
export function parseProcStat(text: string): MachineTicks {
  const line = text.split('\n').find((l) => l.startsWith('cpu ')) ?? '';
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = ticks.reduce((sum, t) => sum + (Number.isFinite(t) ? t : 0), 0);
  return { total, steal: Number.isFinite(ticks[7]) ? ticks[7] : 0 };
}

export function machineTicks(): MachineTicks {
  try {
    return parseProcStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return { total: 0, steal: 0 };
  }
}

/**
 * The share of the machine's CPU time a hypervisor gave to other guests between two readings (0–1). On a shared
 * virtual machine this is what makes one row slower than the next for no reason in the code: the load average does
 * not see it.
 */
export function stealShare(from: MachineTicks, to: MachineTicks): number {
  const total = to.total - from.total;
  return total > 0 ? (to.steal - from.steal) / total : 0;
}
