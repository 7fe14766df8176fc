/**
 * HTTP/2 against HTTP/1.1 through the same TLS path with nghttp2's h2load (Debian's nghttp2-client): a fixed number
 * of clients for a fixed time, each HTTP/2 client with several streams at once, each HTTP/1.1 client one request at
 * a time (`--h1`), parsed from its text output.
 */
import { withName } from './names.ts';
import { run } from './processes.ts';
import { hostname, needsName, type Target } from './target.ts';

export interface H2loadResult {
  /** What TLS negotiated (`h2`, `http/1.1`): h2load says so, and a row that silently fell back would mislead. */
  protocol: string;
  clients: number;
  streams: number;
  requestsPerSec: number;
  succeeded: number;
  failed: number;
  /** Requests answered with a status other than 2xx. */
  non2xx: number;
  meanMs: number;
}

export interface H2loadOptions {
  clients: number;
  /** Concurrent streams per HTTP/2 client (1 for HTTP/1.1). */
  streams: number;
  durationS: number;
  http1: boolean;
  dir: string;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : n;
}

export function parseH2load(output: string, clients: number, streams: number): H2loadResult {
  const finished = /^finished in [\d.]+s, ([\d.]+) req\/s/m.exec(output);
  const requests = /^requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/m.exec(
    output,
  );
  const status = /^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(output);
  const mean = /^time for request:\s+\S+?\s+\S+?\s+([\d.]+)(us|ms|s)\s/m.exec(output);
  if (!finished || !requests || !status) throw new Error(`could not parse h2load output:\n${output.slice(-1500)}`);
  return {
    protocol: /^Application protocol: (\S+)/m.exec(output)?.[1] ?? 'unknown',
    clients,
    streams,
    requestsPerSec: Number(finished[1]),
    succeeded: Number(requests[1]),
    failed: Number(requests[2]) + Number(requests[3]),
    non2xx: Number(status[2]) + Number(status[3]) + Number(status[4]),
    meanMs: mean ? toMs(mean[1], mean[2]) : Number.NaN,
  };
}

export async function runH2load(t: Target, path: string, options: H2loadOptions): Promise<H2loadResult> {
  const streams = options.http1 ? 1 : options.streams;
  const args = ['-D', String(options.durationS), '-c', String(options.clients), '-m', String(streams), '-t', '1'];
  if (options.http1) args.push('--h1');
  for (const [name, value] of Object.entries(t.headers)) args.push('-H', `${name}: ${value}`);
  args.push(`${t.base}${path}`);
  let command = 'h2load';
  let finalArgs = args;
  if (needsName(t)) {
    const wrapped = await withName(options.dir, hostname(t), t.address, 'h2load', args);
    command = wrapped.command;
    finalArgs = wrapped.args;
  }
  const { stdout } = await run(command, finalArgs, { timeoutMs: (options.durationS + 30) * 1000 });
  return parseH2load(stdout, options.clients, streams);
}
