/**
 * Making an unresolvable host name (a Drawbridge app host) resolve to 127.0.0.1 for wrk.
 *
 * wrk resolves the URL's host with getaddrinfo() and sends it as TLS SNI and Host; it has no `--resolve`, and a
 * `Host` header alone would leave SNI wrong. So wrk runs in a private mount namespace where a copy of /etc/hosts
 * with the extra line is bind-mounted over the real one (`unshare -m` + `mount --bind`, as root): the system's file
 * is never touched and nothing is left behind if the bench dies. Where mount namespaces are not allowed, the bench
 * falls back to appending a marked line to /etc/hosts for the run and removing it at the end (also on Ctrl-C).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onCleanup, run } from './processes.ts';

const MARK = '# drawbridge-bench';
let mode: 'unshare' | 'etc-hosts' | null = null;
const mapped = new Set<string>();

function hostsFileWith(dir: string, host: string, address: string): string {
  const path = join(dir, `hosts-${host}`);
  writeFileSync(path, `${readFileSync('/etc/hosts', 'utf8').trimEnd()}\n${address} ${host}\n`);
  return path;
}

async function detect(dir: string): Promise<'unshare' | 'etc-hosts'> {
  if (mode) return mode;
  // DRAWBRIDGE_BENCH_HOSTS=etc-hosts forces the fallback (for machines where the probe below misleads).
  if (process.env.DRAWBRIDGE_BENCH_HOSTS === 'etc-hosts') return (mode = 'etc-hosts');
  const probe = 'probe.drawbridge-bench.invalid';
  const file = hostsFileWith(dir, probe, '127.0.0.1');
  const { code, stdout } = await run(
    'unshare',
    ['-m', 'sh', '-c', `mount --bind ${file} /etc/hosts && getent hosts ${probe}`],
    { allowFail: true },
  );
  mode = code === 0 && stdout.includes('127.0.0.1') ? 'unshare' : 'etc-hosts';
  return mode;
}

function removeOurLines(): void {
  const text = readFileSync('/etc/hosts', 'utf8');
  const kept = text.split('\n').filter((line) => !line.endsWith(MARK));
  if (kept.length !== text.split('\n').length) writeFileSync('/etc/hosts', kept.join('\n'));
}

/**
 * Returns the command and arguments that run `command args` with `host` resolving to `address`.
 * `how` says which method was used (for the report).
 */
export async function withName(
  dir: string,
  host: string,
  address: string,
  command: string,
  args: string[],
): Promise<{ command: string; args: string[]; how: string }> {
  if ((await detect(dir)) === 'unshare') {
    const file = hostsFileWith(dir, host, address);
    return {
      command: 'unshare',
      args: ['-m', 'sh', '-c', `mount --bind '${file}' /etc/hosts && exec "$0" "$@"`, command, ...args],
      how: 'private mount namespace with its own /etc/hosts (unshare -m)',
    };
  }
  if (!mapped.has(host)) {
    if (mapped.size === 0) onCleanup(removeOurLines);
    mapped.add(host);
    writeFileSync('/etc/hosts', `${readFileSync('/etc/hosts', 'utf8').trimEnd()}\n${address} ${host} ${MARK}\n`);
  }
  return { command, args, how: 'temporary /etc/hosts line (removed at the end)' };
}

/** How wrk was given the app host's address in this run (for the report); null if it never needed to be. */
export function hostsMode(): string | null {
  if (mode === 'unshare') return 'wrk in a private mount namespace with its own /etc/hosts (unshare -m + mount --bind)';
  if (mode === 'etc-hosts') return 'a temporary /etc/hosts line for wrk, removed at the end';
  return null;
}
