/**
 * Installs the Debian packages the bench needs when they are missing (nginx, haproxy, caddy, wrk, h2load, curl,
 * openssl).
 *
 * Debian's packages start their services on install (nginx and caddy would take port 80). A `/usr/sbin/policy-rc.d` that
 * exits 101 tells invoke-rc.d not to; the bench writes one for the install when none exists and removes it after.
 */
import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { run } from './processes.ts';

/** Debian package that provides each command the bench runs. */
const PACKAGES: Record<string, string> = {
  nginx: 'nginx',
  haproxy: 'haproxy',
  caddy: 'caddy',
  wrk: 'wrk',
  h2load: 'nghttp2-client',
  curl: 'curl',
  openssl: 'openssl',
};

const POLICY_RC = '/usr/sbin/policy-rc.d';

async function has(command: string): Promise<boolean> {
  const { code } = await run('sh', ['-c', `command -v ${command} || test -x /usr/sbin/${command}`], {
    allowFail: true,
  });
  return code === 0;
}

export async function ensurePackages(log: (line: string) => void): Promise<void> {
  const missing: string[] = [];
  for (const [command, pkg] of Object.entries(PACKAGES)) {
    if (!(await has(command))) missing.push(pkg);
  }
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing Debian packages: ${missing.join(' ')} (run as root, or: apt-get install ${missing.join(' ')})`,
    );
  }
  log(`installing Debian packages: ${missing.join(' ')}`);
  const ownPolicy = !existsSync(POLICY_RC);
  if (ownPolicy)
    writeFileSync(
      POLICY_RC,
      '#!/bin/sh\n# written by drawbridge bench for the install: start no services\nexit 101\n',
      { mode: 0o755 },
    );
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    await run('apt-get', ['update', '-qq'], { env, timeoutMs: 300_000 });
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, timeoutMs: 600_000 });
  } finally {
    if (ownPolicy) unlinkSync(POLICY_RC);
  }
  // Belt and braces: if a service started anyway, stop it (port 80 belongs to nobody here).
  for (const pkg of missing) {
    if (pkg === 'nginx' || pkg === 'haproxy' || pkg === 'caddy')
      await run('sh', ['-c', `service ${pkg} stop`], { allowFail: true });
  }
}
