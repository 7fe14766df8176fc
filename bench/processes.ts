/**
 * Child processes of the bench: start, wait for a port, stop, and stop everything on exit, Ctrl-C or an error.
 *
 * Every process the bench starts goes through `start()` so that `stopAll()` (installed on exit and signals by
 * `installCleanup()`) can end it. Processes are started in their own process group (detached) and stopped by
 * signalling that group, so a daemon's workers go with it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Started {
  name: string;
  logFile?: string;
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  /** SIGTERM to the process group, SIGKILL after `graceMs` (default 5 s). */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Started>();
/** Short-lived commands started by `run()` (wrk, curl…), killed too if the bench stops early. */
const transient = new Set<ChildProcess>();
const cleanups: Array<() => void | Promise<void>> = [];

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Where stdout and stderr go (appended); default: discarded. */
  logFile?: string;
}

export function start(name: string, command: string, args: string[], options: StartOptions = {}): Started {
  const out = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : null;
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', out ? 'pipe' : 'ignore', out ? 'pipe' : 'ignore'],
    detached: true,
  });
  if (out) {
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
  }
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = child.pid;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (err) => resolve(String(err)));
  });
  const started: Started = {
    name,
    logFile: options.logFile,
    child,
    pid,
    exited,
    async stop(graceMs = 5000) {
      running.delete(started);
      await stopProcess(child, exited, graceMs);
      out?.end();
    },
  };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

async function stopProcess(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child, 'SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    signalGroup(child, 'SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Registers a cleanup step (remove a temp dir, restore a file) that runs once when the bench ends. */
export function onCleanup(fn: () => void | Promise<void>): void {
  cleanups.push(fn);
}

let cleaning: Promise<void> | null = null;

export function stopAll(): Promise<void> {
  cleaning ??= (async () => {
    for (const child of transient) child.kill('SIGTERM');
    await Promise.all([...running].map((p) => p.stop()));
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`cleanup failed: ${String(err)}\n`);
      }
    }
  })();
  return cleaning;
}

/** Synchronous last resort on process exit: SIGKILL whatever is still running. */
function killAllNow(): void {
  for (const child of transient) child.kill('SIGKILL');
  for (const p of running) signalGroup(p.child, 'SIGKILL');
}

export function installCleanup(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the bench's processes…\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
  process.once('exit', killAllNow);
}

/** Waits until something accepts TCP connections on host:port, or the process exits, or the time runs out. */
export async function waitForPort(port: number, proc?: Started, timeoutMs = 10_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc?.exited.then(() => {
    exited = true;
  });
  for (;;) {
    if (exited) await sleep(200); // let the log stream flush
    if (exited) throw new Error(`${proc?.name} exited before listening on ${port}${logTail(proc)}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

function logTail(proc: Started | undefined): string {
  if (!proc?.logFile) return '';
  try {
    const text = readFileSync(proc.logFile, 'utf8').trim();
    return text ? `: ${text.split('\n').slice(-5).join(' | ')}` : '';
  } catch {
    return '';
  }
}

/** Runs a command to completion and returns its output; rejects on a non-zero exit unless `allowFail`. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; allowFail?: boolean; timeoutMs?: number; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    transient.add(child);
    child.once('close', () => transient.delete(child));
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (options.input !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(options.input);
    }
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const c = code ?? (signal ? 128 : 1);
      if (c !== 0 && !options.allowFail) {
        reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}\n${stderr.slice(-2000)}`));
      } else {
        resolve({ code: c, stdout, stderr });
      }
    });
  });
}

/** A free TCP port on 127.0.0.1 (asks the kernel, then releases it). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
