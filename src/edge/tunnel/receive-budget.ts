import type { Tunnel } from './tunnel.ts';
import { RECEIVE_BUDGET_BYTES, BRAKE_STREAM_WINDOW_BYTES, STREAM_WINDOW_BYTES } from '../../tunnel/flow-control.ts';

/** How often the unread bytes are summed: what a burst of new slow streams can add before the brake is on. */
export const CHECK_INTERVAL_MS = 100;

/**
 * A bound on what slow clients can make this edge process hold. Each tunnel stream is granted its whole window up
 * front (16 MiB, for throughput over long links), and Node hands the connection window back as data arrives,
 * whatever the client reads; so clients that request large files and never read make the edge buffer up to a stream
 * window each (measured before this: 100 such clients, 1.25 GB of edge RSS in 10 s).
 *
 * When the unread response data of all tunnel streams passes the budget, the tunnels holding it send a smaller
 * SETTINGS_INITIAL_WINDOW_SIZE. RFC 9113 §6.9.2 applies the change to open streams as well: a stream whose client has
 * not read what it holds gets a window below zero, so nothing more is sent on it until that client reads, and new
 * streams start from the small window. Below half the budget the windows come back; the streams still unread stay
 * at or below zero, since the change is a difference, not a reset. Tunnels without unread data keep their windows.
 */
export class ReceiveBudget {
  readonly limitBytes: number;
  readonly #tunnels = new Set<Tunnel>();
  readonly #braked = new Set<Tunnel>();
  #timer: NodeJS.Timeout | null = null;
  #unread = 0;
  #brakes = 0;

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  /** Unread response bytes in tunnel streams at the last check. */
  get unreadBytes(): number {
    return this.#unread;
  }
  /** Times a tunnel's windows were lowered. */
  get brakes(): number {
    return this.#brakes;
  }
  get braked(): number {
    return this.#braked.size;
  }

  watch(tunnel: Tunnel): void {
    this.#tunnels.add(tunnel);
    tunnel.session.once('close', () => {
      this.#tunnels.delete(tunnel);
      this.#braked.delete(tunnel);
      if (this.#tunnels.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    });
    if (!this.#timer) {
      this.#timer = setInterval(() => this.check(), CHECK_INTERVAL_MS);
      this.#timer.unref();
    }
  }

  check(): void {
    let total = 0;
    const holding: Tunnel[] = [];
    for (const tunnel of this.#tunnels) {
      const unread = tunnel.unreadBytes();
      total += unread;
      if (unread > BRAKE_STREAM_WINDOW_BYTES) holding.push(tunnel);
    }
    this.#unread = total;
    if (total > this.limitBytes) {
      for (const tunnel of holding) {
        if (this.#braked.has(tunnel)) continue;
        if (setStreamWindow(tunnel, BRAKE_STREAM_WINDOW_BYTES)) {
          this.#braked.add(tunnel);
          this.#brakes++;
        }
      }
    } else if (total < this.limitBytes / 2 && this.#braked.size > 0) {
      for (const tunnel of this.#braked) setStreamWindow(tunnel, STREAM_WINDOW_BYTES);
      this.#braked.clear();
    }
  }
}

function setStreamWindow(tunnel: Tunnel, bytes: number): boolean {
  try {
    tunnel.session.settings({ initialWindowSize: bytes });
    return true;
  } catch {
    return false; // closing
  }
}

/** The edge process's one budget: a memory bound is per process (each `--workers` worker has its own). */
export const receiveBudget = new ReceiveBudget(RECEIVE_BUDGET_BYTES);
