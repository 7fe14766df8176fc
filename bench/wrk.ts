/**
 * Closed-loop throughput with Debian's wrk (keep-alive, fixed connection count), parsed from its text output.
 */
import { join } from 'node:path';
import { withName } from './names.ts';
import { run } from './processes.ts';
import { hostname, needsName, type Target } from './target.ts';

export interface WrkResult {
  connections: number;
  durationS: number;
  requests: number;
  requestsPerSec: number;
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
}

export interface WrkOptions {
  connections: number;
  threads: number;
  durationS: number;
  dir: string;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  switch (unit) {
    case 'us':
      return n / 1000;
    case 'ms':
      return n;
    case 's':
      return n * 1000;
    case 'm':
      return n * 60_000;
    default:
      return Number.NaN;
  }
}

export function parseWrk(output: string, connections: number): WrkResult {
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
    return m ? toMs(m[1], m[2]) : Number.NaN;
  };
  const done = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(output);
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  if (!done || !rps) throw new Error(`could not parse wrk output:\n${output}`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const status = /Non-2xx or 3xx responses: (\d+)/.exec(output);
  return {
    connections,
    durationS: toMs(done[2], done[3]) / 1000,
    requests: Number(done[1]),
    requestsPerSec: Number(rps[1]),
    latencyMs: { p50: pct('50'), p75: pct('75'), p90: pct('90'), p99: pct('99') },
    errors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
      status: Number(status?.[1] ?? 0),
    },
  };
}

export async function runWrk(t: Target, path: string, options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`,
    `-c${options.connections}`,
    `-d${options.durationS}s`,
    '--latency',
    '--timeout',
    '10s',
  ];
  for (const [name, value] of Object.entries(t.headers)) args.push('-H', `${name}: ${value}`);
  args.push(`${t.base}${path}`);
  let command = 'wrk';
  let finalArgs = args;
  if (needsName(t)) {
    const wrapped = await withName(join(options.dir), hostname(t), t.address, 'wrk', args);
    command = wrapped.command;
    finalArgs = wrapped.args;
  }
  const { stdout } = await run(command, finalArgs, { timeoutMs: (options.durationS + 30) * 1000 });
  return parseWrk(stdout, options.connections);
}
