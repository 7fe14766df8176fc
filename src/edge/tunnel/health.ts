import type { Tunnel } from './registry.ts';
import type { Logger } from '../../lib/log.ts';

export interface HealthOptions {
  intervalMs: number;
  logger: Logger;
  onEject(): void;
  onRestore(): void;
}

/**
 * HTTP/2 PING per tunnel. A ping unanswered for two intervals ejects the tunnel (no new streams); an answer brings it
 * back; ten silent intervals close it so its streams fail over. Returns a stop function.
 */
export function watchHealth(tunnel: Tunnel, options: HealthOptions): () => void {
  const { intervalMs, logger } = options;
  let outstandingSince = 0;
  let ejected = false;
  const timer = setInterval(() => {
    const now = Date.now();
    if (outstandingSince !== 0) {
      const silentFor = now - outstandingSince;
      if (!ejected && silentFor >= 2 * intervalMs) {
        ejected = true;
        tunnel.usable = false;
        logger.warn({ connectorId: tunnel.connectorId, tunnelId: tunnel.id, silentMs: silentFor }, 'tunnel ejected: ping unanswered');
        options.onEject();
      }
      if (silentFor >= 10 * intervalMs) tunnel.session.destroy();
      return;
    }
    outstandingSince = now;
    try {
      tunnel.session.ping((err, durationMs) => {
        outstandingSince = 0;
        if (err) return;
        tunnel.rttMs = durationMs;
        if (ejected && !tunnel.session.closed && !tunnel.draining) {
          ejected = false;
          tunnel.usable = true;
          logger.info({ connectorId: tunnel.connectorId, tunnelId: tunnel.id, rttMs: durationMs }, 'tunnel restored');
          options.onRestore();
        }
      });
    } catch {
      outstandingSince = 0;
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
