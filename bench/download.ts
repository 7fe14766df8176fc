/**
 * Large-file throughput with curl (C, so the client is not the bottleneck): one download, or several at once.
 * Each curl stops after `maxSeconds` (slow paths, the WAN run); throughput counts the bytes actually received.
 * MB is 10^6 bytes.
 */
import { performance } from 'node:perf_hooks';
import { run } from './processes.ts';
import { hostname, isTls, needsName, port, type Target } from './target.ts';

export interface DownloadResult {
  parallel: number;
  bytes: number;
  seconds: number;
  mbPerSec: number;
  /** Every transfer got the whole file. */
  complete: boolean;
  /** Why a transfer ended early, other than the time limit (e.g. curl 18: the connection was cut). */
  error?: string;
}

export function curlArgs(t: Target, path: string, maxSeconds: number): string[] {
  const args = ['-s', '-o', '/dev/null', '--max-time', String(maxSeconds), '-w', '%{size_download} %{http_code}'];
  if (isTls(t)) args.push('-k');
  if (needsName(t)) args.push('--resolve', `${hostname(t)}:${port(t)}:${t.address}`);
  for (const [name, value] of Object.entries(t.headers)) args.push('-H', `${name}: ${value}`);
  args.push(`${t.base}${path}`);
  return args;
}

export async function download(
  t: Target,
  path: string,
  options: { parallel: number; maxSeconds: number; expectedBytes: number },
): Promise<DownloadResult> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: options.parallel }, () =>
      run('curl', curlArgs(t, path, options.maxSeconds), {
        allowFail: true,
        timeoutMs: (options.maxSeconds + 10) * 1000,
      }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  let bytes = 0;
  let complete = true;
  let error: string | undefined;
  for (const r of results) {
    const [size, status] = r.stdout.trim().split(' ');
    bytes += Number(size) || 0;
    if (r.code !== 0 || status !== '200' || Number(size) !== options.expectedBytes) complete = false;
    if (bytes === 0 && r.code !== 0) throw new Error(`curl failed (${r.code}): ${r.stderr || r.stdout}`);
    if (r.code !== 0 && r.code !== 28)
      error ??= `curl exit ${r.code} after ${size} bytes${r.code === 18 ? ' (connection cut before the end of the body)' : ''}`;
    else if (status !== '200') error ??= `HTTP status ${status}`;
  }
  return {
    parallel: options.parallel,
    bytes,
    seconds,
    mbPerSec: bytes / 1e6 / seconds,
    complete,
    ...(error ? { error } : {}),
  };
}
