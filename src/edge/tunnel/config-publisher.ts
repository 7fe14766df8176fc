import type { ConnectorConfig } from '../../tunnel/protocol.ts';
import { pushConfig } from '../../tunnel/control.ts';
import type { RouteTable } from '../proxy/routes.ts';
import type { Tunnel, TunnelRegistry } from './registry.ts';
import type { Logger } from '../../lib/log.ts';

/**
 * Versioned configuration pushed from the edge to connectors: each connector learns exactly the apps published on
 * its group and nothing else, which is what lets it refuse any other target.
 */
export class ConfigPublisher {
  #version = Date.now();
  readonly #routes: RouteTable;
  readonly #registry: TunnelRegistry;
  readonly #logger: Logger;

  constructor(routes: RouteTable, registry: TunnelRegistry, logger: Logger) {
    this.#routes = routes;
    this.#registry = registry;
    this.#logger = logger;
  }

  configFor(tenantId: string, groupId: string): ConnectorConfig {
    const apps = this.#routes.appsOfGroup(groupId).filter((a) => a.enabled && a.tenantId === tenantId);
    return {
      version: ++this.#version,
      tenantId,
      groupId,
      apps: apps.map((a) => ({
        id: a.id,
        name: a.name,
        internalUrl: a.internalUrl,
        backendTimeout: a.backendTimeout,
        tlsVerify: a.tlsVerify,
        backendCa: a.backendCa,
        sso: a.sso,
        externalUrl: a.externalUrl,
      })),
    };
  }

  async pushTo(tunnel: Tunnel): Promise<void> {
    let config = this.configFor(tunnel.tenantId, tunnel.groupId);
    let ack = await pushConfig(tunnel.session, config);
    if (ack.configVersion > config.version) {
      // The connector holds a higher version pushed by another edge node (each numbers its own pushes). Both come from
      // the one store, so this node's is as current: numbered above it and pushed again, or its tunnel never takes the
      // apps.
      this.#version = Math.max(this.#version, ack.configVersion);
      config = this.configFor(tunnel.tenantId, tunnel.groupId);
      ack = await pushConfig(tunnel.session, config);
    }
    if (ack.configVersion === config.version)
      tunnel.acknowledge(
        config.version,
        config.apps.map((a) => a.id),
      );
  }

  /** Pushes fresh config to every tunnel (after any app or group change). Failures are logged; the tunnel's own
   *  health handling deals with a dead session. */
  async pushAll(): Promise<void> {
    await Promise.all(
      this.#registry.all().map((t) =>
        this.pushTo(t).catch((err: Error) => {
          this.#logger.warn({ connectorId: t.connectorId, tunnelId: t.id, err: err.message }, 'config push failed');
        }),
      ),
    );
  }
}
