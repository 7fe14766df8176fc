import net from 'node:net';
import type { BackendReachability } from '../../tunnel/protocol.ts';
import type { AppConfigTable } from '../forward/app-config.ts';

/**
 * Backend reachability per app, as this connector sees it: a TCP connect to each app's internal URL every
 * `intervalMs`. The edge reads the result through the status control message and prefers connectors that can
 * reach the app, so a connector cut off from one backend stops taking that app's requests.
 */
export class BackendProbe {
  readonly #apps: AppConfigTable;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #results = new Map<string, BackendReachability>();
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(apps: AppConfigTable, options: { intervalMs?: number; timeoutMs?: number } = {}) {
    this.#apps = apps;
    this.#intervalMs = options.intervalMs ?? 5_000;
    this.#timeoutMs = options.timeoutMs ?? 2_000;
  }

  start(): void {
    if (this.#timer) return;
    void this.probeAll();
    this.#timer = setInterval(() => void this.probeAll(), this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** The latest result for every app in the current config (apps not probed yet are absent). */
  report(): BackendReachability[] {
    const current = new Set(this.#apps.all().map((a) => a.id));
    for (const id of this.#results.keys()) if (!current.has(id)) this.#results.delete(id);
    return [...this.#results.values()];
  }

  async probeAll(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      await Promise.all(
        this.#apps.all().map(async (app) => {
          const error = await this.#connect(app.internalUrl);
          this.#results.set(app.id, {
            appId: app.id,
            reachable: error === null,
            checkedAt: new Date().toISOString(),
            error,
          });
        }),
      );
    } finally {
      this.#running = false;
    }
  }

  #connect(internalUrl: string): Promise<string | null> {
    let url: URL;
    try {
      url = new URL(internalUrl);
    } catch {
      return Promise.resolve('invalid internal URL');
    }
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    return new Promise((resolve) => {
      const socket = net.connect({ host, port });
      const done = (error: string | null): void => {
        socket.destroy();
        resolve(error);
      };
      socket.setTimeout(this.#timeoutMs, () => done('ETIMEDOUT'));
      socket.once('connect', () => done(null));
      socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    });
  }
}
