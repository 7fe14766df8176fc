import net from 'node:net';
import { withInspector } from '../../bench/inspector.ts';

/**
 * Reading a running Node process's memory from outside, after a full garbage collection, through its inspector:
 * SIGUSR1 opens it on the port given by `--inspect-port` (pass `inspectPortOption(port)` in the process's
 * NODE_OPTIONS), the DevTools protocol runs `HeapProfiler.collectGarbage` and reads `process.memoryUsage()`, and the
 * inspector is closed again (bench/inspector.ts's session, which the bench uses on the default port; tests take a
 * free port of their own so they never meet a bench run).
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
  return withInspector(
    pid,
    async (s) => {
      await s.call('HeapProfiler.collectGarbage');
      await s.call('HeapProfiler.collectGarbage');
      const reading = (await s.call('Runtime.evaluate', {
        expression: '(({ rss, heapUsed, external }) => ({ rss, heapUsed, external }))(process.memoryUsage())',
        returnByValue: true,
      })) as { result: { value: MemoryReading } };
      return reading.result.value;
    },
    port,
  );
}
