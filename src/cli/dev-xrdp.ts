/**
 * The demo's RDP host (issue 13): when Debian's xrdp is installed, `drawbridge dev` runs xrdp and xrdp-sesman in the
 * foreground on loopback with their own configuration (copied from /etc/xrdp with the ports, log files and a
 * self-signed certificate changed) and publishes xrdp as the app `rdp` behind the edge's RD Gateway. The RD Gateway
 * test (test/e2e/rdg.test.ts) starts its xrdp the same way.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, WATCHDOG } from './dev-ssh.ts';

export const XRDP_PATH = '/usr/sbin/xrdp';
export const XRDP_MISSING_HINT =
  'no RDP app: install xrdp (apt-get install xrdp) and run drawbridge dev again to publish one behind the RD Gateway';

export interface DevXrdp {
  port: number;
  dir: string;
  /** xrdp's own log so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Whether xrdp and xrdp-sesman can be run (on PATH or in /usr/sbin). */
export function xrdpInstalled(): boolean {
  return ['xrdp', 'xrdp-sesman'].every(
    (cmd) => existsSync(`/usr/sbin/${cmd}`) || spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0,
  );
}

/**
 * Starts xrdp and xrdp-sesman with their configuration in `dir` (created if needed), each through a watchdog on an
 * IPC channel so that they go when the caller dies, even by SIGKILL. Returns null when xrdp is not installed;
 * resolves once xrdp listens.
 */
export async function startDevXrdp(dir: string, stderrLog?: string): Promise<DevXrdp | null> {
  if (!xrdpInstalled()) return null;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const [port, sesmanPort] = [await freePort(), await freePort()];
  if (!existsSync(path.join(dir, 'key.pem'))) {
    const openssl = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
        '-days',
        '365',
        '-subj',
        '/CN=rdp-host',
      ],
      { stdio: 'ignore' },
    );
    if (openssl.status !== 0) throw new Error('openssl could not make the RDP host certificate');
  }
  const xrdpLog = path.join(dir, 'xrdp.log');
  const ini = readFileSync('/etc/xrdp/xrdp.ini', 'utf8')
    .replace(/^port=3389$/m, `port=tcp://127.0.0.1:${port}`)
    .replace(/^fork=true$/m, 'fork=false')
    .replace(/^certificate=$/m, `certificate=${dir}/cert.pem`)
    .replace(/^key_file=$/m, `key_file=${dir}/key.pem`)
    .replace(/^LogFile=xrdp\.log$/m, `LogFile=${xrdpLog}`)
    .replace(/^LogLevel=INFO$/m, 'LogLevel=DEBUG')
    .replace(/^EnableSyslog=true$/m, 'EnableSyslog=false');
  // Debian's defaults are what the replacements expect; say so plainly if a newer package changed them.
  for (const line of [`port=tcp://127.0.0.1:${port}`, `LogFile=${xrdpLog}`, `certificate=${dir}/cert.pem`])
    if (!ini.includes(`\n${line}\n`)) throw new Error(`/etc/xrdp/xrdp.ini: could not set ${line}`);
  writeFileSync(path.join(dir, 'xrdp.ini'), ini);
  const sesman = readFileSync('/etc/xrdp/sesman.ini', 'utf8')
    .replace(/^ListenPort=3350$/m, `ListenPort=${sesmanPort}`)
    .replace(/^LogFile=xrdp-sesman\.log$/m, `LogFile=${dir}/sesman.log`)
    .replace(/^EnableSyslog=true$/m, 'EnableSyslog=false');
  if (!sesman.includes(`\nListenPort=${sesmanPort}\n`))
    throw new Error('/etc/xrdp/sesman.ini: could not set ListenPort');
  writeFileSync(path.join(dir, 'sesman.ini'), sesman);
  const logStart = existsSync(xrdpLog) ? readFileSync(xrdpLog, 'utf8').length : 0;
  const log = (): string => (existsSync(xrdpLog) ? readFileSync(xrdpLog, 'utf8') : '');
  const err = stderrLog ? createWriteStream(stderrLog, { flags: 'a' }) : null;
  const procs: ChildProcess[] = [
    ['xrdp', path.join(dir, 'xrdp.ini')],
    ['xrdp-sesman', path.join(dir, 'sesman.ini')],
  ].map(([cmd, config]) => {
    const bin = existsSync(`/usr/sbin/${cmd}`) ? `/usr/sbin/${cmd}` : cmd;
    const child = spawn(process.execPath, ['-e', WATCHDOG, bin, '--nodaemon', '--config', config], {
      stdio: ['ignore', 'ignore', err ? 'pipe' : 'ignore', 'ipc'],
    });
    child.unref();
    child.channel?.unref();
    if (err) child.stderr?.pipe(err);
    return child;
  });
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs.map(async (p) => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        await exited;
      }),
    );
  };
  const deadline = Date.now() + 20_000;
  while (!log().slice(logStart).includes(`listening to port ${port} on 127.0.0.1`)) {
    if (procs.some((p) => p.exitCode !== null) || Date.now() > deadline) {
      for (const p of procs) p.kill('SIGKILL');
      throw new Error(`xrdp did not start (see ${xrdpLog})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, dir, log, stop };
}
