import { isDeepStrictEqual } from 'node:util';
import type { EdgeConfig } from '../config/edge-config.ts';

/**
 * Settings a running edge cannot take over (edge.ts reload): listeners, the store and sessions, identities and
 * timers fixed at start. Everything else — tls, tlsProfile, the other limits, log.level, tracing — changes live.
 */
const RESTART_ONLY: ((c: EdgeConfig) => unknown)[] = [];
const RESTART_ONLY_NAMES: string[] = [];
function restartOnly(name: string, read: (c: EdgeConfig) => unknown): void {
  RESTART_ONLY_NAMES.push(name);
  RESTART_ONLY.push(read);
}
restartOnly('stateDir', (c) => c.stateDir);
restartOnly('domain', (c) => c.domain);
restartOnly('listen', (c) => c.listen);
restartOnly('publicPort', (c) => c.publicPort);
restartOnly('acme', (c) => c.acme);
restartOnly('admin', (c) => c.admin);
restartOnly('tunnel', (c) => c.tunnel);
restartOnly('store', (c) => c.store);
restartOnly('sessions', (c) => c.sessions);
restartOnly('cluster', (c) => c.cluster);
// The HTTP parser's head size and the TLS handshake timer are set when a server is created.
restartOnly('limits.maxHeaderBytes', (c) => c.limits.maxHeaderBytes);
restartOnly('limits.handshakeTimeoutMs', (c) => c.limits.handshakeTimeoutMs);

/** The names of the settings that differ between `running` and `next` and apply only after a restart. */
export function restartOnlyChanges(running: EdgeConfig, next: EdgeConfig): string[] {
  return RESTART_ONLY_NAMES.filter((_, i) => !isDeepStrictEqual(RESTART_ONLY[i]!(running), RESTART_ONLY[i]!(next)));
}
