/**
 * The demo's SSH app (issue 13): when Debian's OpenSSH server is installed, `drawbridge dev` runs one on loopback
 * (its own config, host key and authorized_keys under <state-dir>/ssh, a free port, not a daemon) and publishes it
 * as the TCP app `ssh` with a service token, so `ssh` through `drawbridge access ssh` works against the demo.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SSHD_PATH = '/usr/sbin/sshd';
export const SSHD_MISSING_HINT =
  "no SSH app: install OpenSSH's server (apt-get install openssh-server) and run drawbridge dev again to publish one";

export interface DevSshd {
  port: number;
  /** The demo's client key (authorised along with the user's own ~/.ssh/*.pub). */
  keyPath: string;
  user: string;
  stop(): Promise<void>;
}

/** Runs argv[1..] and ends it when the parent goes (IPC disconnect) or asks (SIGTERM); exits with it. */
export const WATCHDOG = `const { spawn } = require('node:child_process');
const c = spawn(process.argv[1], process.argv.slice(2), { stdio: ['ignore', 'ignore', 'inherit'] });
const stop = () => c.kill('SIGTERM');
process.on('disconnect', stop);
process.on('SIGTERM', stop);
c.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));`;

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Starts sshd for the demo, or returns null when it is not installed. */
export async function startDevSshd(stateDir: string, logFile: string): Promise<DevSshd | null> {
  if (!existsSync(SSHD_PATH)) return null;
  const dir = path.join(stateDir, 'ssh');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = (name: string): string => {
    const file = path.join(dir, name);
    if (!existsSync(file))
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `drawbridge-dev-${name}`, '-f', file]);
    return file;
  };
  const hostKey = key('host_ed25519');
  const keyPath = key('id_ed25519');
  const home = path.join(os.homedir(), '.ssh');
  const own = existsSync(home)
    ? readdirSync(home)
        .filter((f) => /^id_.*\.pub$/.test(f))
        .map((f) => readFileSync(path.join(home, f), 'utf8').trim())
    : [];
  writeFileSync(
    path.join(dir, 'authorized_keys'),
    [readFileSync(`${keyPath}.pub`, 'utf8').trim(), ...own].join('\n') + '\n',
    { mode: 0o600 },
  );
  const port = await freePort();
  writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  // Run by root, sshd needs its privilege separation directory (the service unit creates it).
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const log = createWriteStream(logFile, { flags: 'a' });
  // Through a small watchdog on an IPC channel, as every other child of dev: if dev dies (even by SIGKILL), the
  // channel closes and sshd goes with it instead of holding its port for ever.
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', WATCHDOG, SSHD_PATH, '-D', '-e', '-f', path.join(dir, 'sshd_config')],
    { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
  );
  child.unref();
  child.channel?.unref();
  child.stderr?.pipe(log);
  const deadline = Date.now() + 10_000;
  while (
    !(await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    }))
  ) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`sshd did not start (see ${logFile})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    keyPath,
    user: os.userInfo().username,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
