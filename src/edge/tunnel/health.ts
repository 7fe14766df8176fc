import { connectorStatus } from '../../tunnel/control.ts';
import type { Tunnel } from './registry.ts';
import type { Logger } from '../../lib/log.ts';

export interface HealthOptions {
  /** PING period. A tunnel silent for 3 periods is ejected, for 10 it is closed. */
  intervalMs: number;
  /** How often the connector is asked for its backend reachability report. */
  statusIntervalMs?: number;
  logger: Logger;
  onEject(reason: string): void;
  onRestore(): void;
}

/** PING periods without an answer that eject a tunnel from balancing, and that close it. */
export const SILENT_INTERVALS_TO_EJECT = 3;
export const SILENT_INTERVALS_TO_CLOSE = 10;
/** How often the connector is asked for its backend reachability report, by default. */
export const STATUS_INTERVAL_MS = 2_000;
/** Failed streams within this window, with no success between them, eject the tunnel… */
export const FAILURE_WINDOW_MS = 2_000;
export const FAILURES_TO_EJECT = 3;
/** …for at least this long; then an answered PING brings it back. */
export const FAILURE_COOLDOWN_MS = 3_000;
const MAX_OUTSTANDING_PINGS = 3;

/**
 * Health of one tunnel, watched from the edge:
 *   - HTTP/2 PING every interval, RTT recorded. Silence (no PING answered, no byte read) for 3 intervals ejects the
 *     tunnel: no new streams, and streams still waiting for their response headers fail over at once. An answer
 *     restores it; 10 silent intervals close it. With the 500 ms default a stalled connector is out of rotation
 *     within ~1.75 s. Bytes arriving count as an answer: a PING answer queues behind the DATA already in flight, and
 *     a tunnel busy carrying downloads to slow clients answered PINGs in 1.7 s on a loaded 2-core machine — ejecting
 *     it failed the requests waiting on it (502) while it was plainly alive.
 *   - A run of failed streams ejects it too, for a cooldown, after which a PING probes it back in.
 *   - The connector's backend reachability report is refreshed every `statusIntervalMs`.
 * Returns a stop function.
 */
export function watchHealth(tunnel: Tunnel, options: HealthOptions): () => void {
  const { intervalMs, logger } = options;
  const statusIntervalMs = options.statusIntervalMs ?? STATUS_INTERVAL_MS;
  let lastAnswer = Date.now();
  let lastPing = 0;
  let lastStatus = 0;
  let outstanding = 0;
  let failures: number[] = [];
  let cooldownUntil = 0;
  let statusPending = false;
  let bytesRead = 0;

  const eject = (reason: string, detail: Record<string, unknown>): void => {
    // Streams that have not been answered yet would hang with the tunnel: ejection fails them over (tunnel.ts).
    if (!tunnel.eject(reason)) return;
    logger.warn({ connectorId: tunnel.connectorId, tunnelId: tunnel.id, reason, ...detail }, 'tunnel ejected');
    options.onEject(reason);
  };

  const restore = (rttMs: number): void => {
    if (Date.now() < cooldownUntil || !tunnel.restore()) return;
    failures = [];
    logger.info({ connectorId: tunnel.connectorId, tunnelId: tunnel.id, rttMs }, 'tunnel restored');
    options.onRestore();
  };

  tunnel.watchedBy({
    streamFailed() {
      const now = Date.now();
      failures = failures.filter((t) => now - t < FAILURE_WINDOW_MS);
      failures.push(now);
      if (failures.length >= FAILURES_TO_EJECT) {
        cooldownUntil = now + FAILURE_COOLDOWN_MS;
        eject('streams', { failedStreams: failures.length });
      }
    },
    streamSucceeded() {
      // A response is proof of life as good as a PING answer (and arrives even when PINGs queue behind data).
      failures = [];
      lastAnswer = Date.now();
    },
  });

  const tickMs = Math.max(25, Math.floor(intervalMs / 4));
  let lastTick = Date.now();
  const tick = (): void => {
    if (!tunnel.open) return;
    const now = Date.now();
    // Timers run before I/O in each loop turn: after a blocked event loop, a PING answer may be sitting unread in the
    // socket. Judge silence only on a punctual tick, never on the late one that follows a stall of this process.
    const late = now - lastTick > tickMs + intervalMs / 2;
    lastTick = now;
    const read = tunnel.session.socket?.bytesRead ?? 0;
    if (read > bytesRead) {
      bytesRead = read;
      lastAnswer = now;
    }
    const silentMs = now - lastAnswer;
    if (late) return;
    if (silentMs >= SILENT_INTERVALS_TO_CLOSE * intervalMs) {
      logger.warn(
        { connectorId: tunnel.connectorId, tunnelId: tunnel.id, silentMs },
        'tunnel silent too long: closing it',
      );
      tunnel.session.destroy();
      return;
    }
    if (silentMs >= SILENT_INTERVALS_TO_EJECT * intervalMs) eject('ping', { silentMs });
    if (now - lastPing >= intervalMs && outstanding < MAX_OUTSTANDING_PINGS) {
      lastPing = now;
      try {
        const sent = tunnel.session.ping((err, durationMs) => {
          outstanding--;
          if (err) return;
          lastAnswer = Date.now();
          tunnel.recordRtt(durationMs);
          restore(tunnel.rttMs ?? durationMs);
        });
        if (sent) outstanding++;
      } catch {
        /* session closing */
      }
    }
    if (!statusPending && now - lastStatus >= statusIntervalMs && !tunnel.ejected) {
      lastStatus = now;
      statusPending = true;
      connectorStatus(tunnel.session)
        .then(
          (report) => {
            tunnel.recordBackends(report.backends);
            for (const b of report.backends) {
              if (!b.reachable)
                logger.debug(
                  { connectorId: tunnel.connectorId, appId: b.appId, err: b.error },
                  'connector reports backend unreachable',
                );
            }
          },
          () => {
            /* older connector, or closing: reachability unknown */
          },
        )
        .finally(() => {
          statusPending = false;
        });
    }
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();
  tick();
  return () => clearInterval(timer);
}
