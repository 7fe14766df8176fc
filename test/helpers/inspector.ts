import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Reading a running Node process's memory from outside, after a full garbage collection, through its inspector:
 * SIGUSR1 opens it on the port given by `--inspect-port` (pass `inspectPortOption(port)` in the process's
 * NODE_OPTIONS), the DevTools protocol runs `HeapProfiler.collectGarbage` and reads `process.memoryUsage()`, and the
 * inspector is closed again. One process at a time per port. (bench/inspector.ts does the same on the fixed default
 * port for the bench; tests take a free port of their own so they never meet a bench run.)
 */
export interface MemoryReading {
  rss: number;
  heapUsed: number;
  external: number;
}

/** A loopback port free right now, for `--inspect-port`. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function inspectPortOption(port: number): string {
  return `${process.env.NODE_OPTIONS ?? ''} --inspect-port=127.0.0.1:${port}`.trim();
}

/** Full GC in `pid` (twice: the second frees what finalisers released), then its memory. */
export async function memoryAfterGc(pid: number, port: number): Promise<MemoryReading> {
  process.kill(pid, 'SIGUSR1');
  const url = await debuggerUrl(port, 10_000);
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', reject, { once: true });
  });
  let next = 1;
  const call = (method: string, params: object = {}): Promise<{ result?: { value?: unknown } }> =>
    new Promise((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => reject(new Error(`${method}: no answer from pid ${pid}`)), 30_000);
      const onMessage = (event: MessageEvent): void => {
        const message = JSON.parse(String(event.data)) as { id?: number; result?: { result?: { value?: unknown } } };
        if (message.id !== id) return;
        clearTimeout(timer);
        ws.removeEventListener('message', onMessage);
        resolve(message.result ?? {});
      };
      ws.addEventListener('message', onMessage);
      ws.send(JSON.stringify({ id, method, params }));
    });
  const evaluate = async (expression: string): Promise<unknown> =>
    ((await call('Runtime.evaluate', { expression, returnByValue: true })) as { result?: { value?: unknown } }).result
      ?.value;
  try {
    if ((await evaluate('process.pid')) !== pid) throw new Error(`the inspector on ${port} is not pid ${pid}'s`);
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    return (await evaluate(
      '(({ rss, heapUsed, external }) => ({ rss, heapUsed, external }))(process.memoryUsage())',
    )) as MemoryReading;
  } finally {
    // close() waits for this very session to end, so it never answers: send it, then hang up.
    ws.send(
      JSON.stringify({
        id: next++,
        method: 'Runtime.evaluate',
        params: { expression: "process.getBuiltinModule('node:inspector').close()" },
      }),
    );
    await sleep(100);
    ws.close();
    await portClosed(port);
  }
}

async function debuggerUrl(port: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
        webSocketDebuggerUrl: string;
      }[];
      if (list[0]?.webSocketDebuggerUrl) return list[0].webSocketDebuggerUrl;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no inspector on 127.0.0.1:${port}`);
    await sleep(100);
  }
}

async function portClosed(port: number): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/json/version`, { signal: AbortSignal.timeout(1000) });
      await sleep(100);
    } catch {
      return;
    }
  }
}
