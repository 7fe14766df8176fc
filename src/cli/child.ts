import { fork, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

export interface Child<T> {
  process: ChildProcess;
  ready: T;
}

/**
 * Starts `drawbridge <args>` as a child process with its output in `logFile`, and waits for the "ready" message it
 * sends over IPC. A child that exits first is reported with the tail of its log path.
 */
export function startChild<T extends Record<string, unknown>>(
  args: string[],
  logFile: string,
  timeoutMs = 30_000,
): Promise<Child<T>> {
  const fd = openSync(logFile, 'a');
  const child = fork(MAIN, args, { stdio: ['ignore', fd, fd, 'ipc'], execArgv: [] });
  closeSync(fd);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`drawbridge ${args[0]} did not become ready in ${timeoutMs / 1000} s (see ${logFile})`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`drawbridge ${args.join(' ')} exited with code ${code} before it was ready (see ${logFile})`));
    });
    child.on('message', (message: T & { event?: string }) => {
      if (message.event !== 'ready') return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ process: child, ready: message });
    });
  });
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
