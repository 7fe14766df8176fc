import type { ConnectorConfig, ConnectorAppConfig } from '../../tunnel/protocol.ts';

/**
 * The apps this connector may reach: exactly those the edge pushed for its group. Anything else is refused, which is
 * what keeps a connector from ever being an open proxy into the corporate network.
 */
export class AppConfigTable {
  #config: ConnectorConfig | null = null;
  #byId = new Map<string, ConnectorAppConfig>();

  get version(): number {
    return this.#config?.version ?? 0;
  }

  get groupId(): string | null {
    return this.#config?.groupId ?? null;
  }

  /** Accepts a newer config only; returns the version now held. */
  apply(config: ConnectorConfig): number {
    if (this.#config && config.version < this.#config.version) return this.#config.version;
    this.#config = config;
    this.#byId = new Map(config.apps.map((a) => [a.id, a]));
    return config.version;
  }

  get(appId: string): ConnectorAppConfig | undefined {
    return this.#byId.get(appId);
  }

  all(): ConnectorAppConfig[] {
    return [...this.#byId.values()];
  }
}
