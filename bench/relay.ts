/**
 * A delay relay: a TCP relay that holds every chunk for `delayMs` in each direction before passing it on, in order,
 * so that two loopback endpoints see a link with a round trip of 2 × delayMs. It stands in for a WAN between
 * connector and edge (or client and server) to show what flow-control windows do to one download.
 *
 * The relay is a link with a bounded buffer: at most `maxInFlight` bytes are held per direction (then it stops
 * reading, and TCP backpressure reaches the sender), which caps the link at maxInFlight / delay — 32 MiB / 10 ms is
 * far above what the paths measured here can do, so the cap does not hide anything.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface Relay {
  port: number;
  close(): Promise<void>;
}

function pipeDelayed(from: Socket, to: Socket, delayMs: number, maxInFlight: number): void {
  const queue: Array<{ chunk: Buffer; due: number }> = [];
  let inFlight = 0;
  let timer: NodeJS.Timeout | null = null;
  let waitingDrain = false;
  let ended = false;

  const flush = (): void => {
    timer = null;
    const now = performance.now();
    while (queue.length > 0 && queue[0].due <= now && !waitingDrain) {
      const { chunk } = queue.shift()!;
      inFlight -= chunk.length;
      if (!to.write(chunk)) {
        waitingDrain = true;
        to.once('drain', () => {
          waitingDrain = false;
          flush();
        });
      }
    }
    if (inFlight < maxInFlight && from.isPaused()) from.resume();
    if (queue.length > 0) schedule();
    else if (ended) to.end();
  };
  const schedule = (): void => {
    if (timer || waitingDrain || queue.length === 0) return;
    timer = setTimeout(flush, Math.max(0, queue[0].due - performance.now()));
  };

  from.on('data', (chunk: Buffer) => {
    queue.push({ chunk, due: performance.now() + delayMs });
    inFlight += chunk.length;
    if (inFlight >= maxInFlight) from.pause();
    schedule();
  });
  from.on('end', () => {
    ended = true;
    if (queue.length === 0) to.end();
  });
}

export function startRelay(
  targetPort: number,
  options: { delayMs: number; maxInFlight?: number; targetHost?: string },
): Promise<Relay> {
  const maxInFlight = options.maxInFlight ?? 32 * 1024 * 1024;
  const sockets = new Set<Socket>();
  const server: Server = createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const upstream = connect({
      port: targetPort,
      host: options.targetHost ?? '127.0.0.1',
      noDelay: true,
      allowHalfOpen: true,
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    pipeDelayed(client, upstream, options.delayMs, maxInFlight);
    pipeDelayed(upstream, client, options.delayMs, maxInFlight);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : 0,
        close: () =>
          new Promise<void>((done) => {
            for (const s of sockets) s.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
