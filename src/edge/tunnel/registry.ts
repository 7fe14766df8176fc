import type { ClientHttp2Session } from 'node:http2';
import type { ConnectorLiveStatus } from '../admin/types.ts';

/** One live tunnel: an HTTP/2 client session over a connector's outbound TLS connection. */
export interface Tunnel {
  readonly id: string;
  readonly connectorId: string;
  readonly tenantId: string;
  groupId: string;
  readonly session: ClientHttp2Session;
  readonly connectedAt: Date;
  readonly address: string | null;
  version: string | null;
  hostname: string | null;
  /** Streams open on this tunnel right now (requests, WebSockets, RD Gateway channels all count). */
  inFlight: number;
  /** App ids in the config the connector acknowledged; routing only picks tunnels that know the app. */
  apps: Set<string>;
  configVersion: number;
  /** False once the tunnel is closing or failed health checks: never picked for new streams. */
  usable: boolean;
  /** The connector sent GOAWAY: never usable again, whatever pings say. */
  draining: boolean;
  rttMs: number | null;
}


/** Which tunnels exist, by group and by connector, and which one takes the next stream. */
export class TunnelRegistry {
  readonly #byGroup = new Map<string, Tunnel[]>();
  readonly #byConnector = new Map<string, Set<Tunnel>>();
  #rotor = 0;

  add(tunnel: Tunnel): void {
    const list = this.#byGroup.get(tunnel.groupId) ?? [];
    list.push(tunnel);
    this.#byGroup.set(tunnel.groupId, list);
    const set = this.#byConnector.get(tunnel.connectorId) ?? new Set();
    set.add(tunnel);
    this.#byConnector.set(tunnel.connectorId, set);
  }

  remove(tunnel: Tunnel): void {
    const list = this.#byGroup.get(tunnel.groupId);
    if (list) {
      const i = list.indexOf(tunnel);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#byGroup.delete(tunnel.groupId);
    }
    const set = this.#byConnector.get(tunnel.connectorId);
    set?.delete(tunnel);
    if (set?.size === 0) this.#byConnector.delete(tunnel.connectorId);
  }

  /** Moves a connector's tunnels when an administrator moves the connector to another group. */
  regroup(connectorId: string, groupId: string): void {
    for (const tunnel of [...(this.#byConnector.get(connectorId) ?? [])]) {
      this.remove(tunnel);
      tunnel.groupId = groupId;
      this.add(tunnel);
    }
  }

  /**
   * Least outstanding streams among usable tunnels that know the app; a rotating start index breaks ties so idle
   * tunnels share the load instead of the first one taking everything.
   */
  pick(groupId: string, appId: string, exclude?: Tunnel): Tunnel | undefined {
    const list = this.#byGroup.get(groupId);
    if (!list) return undefined;
    let best: Tunnel | undefined;
    const n = list.length;
    const start = this.#rotor++ % n;
    for (let k = 0; k < n; k++) {
      const t = list[(start + k) % n];
      if (!t.usable || t === exclude || !t.apps.has(appId)) continue;
      if (exclude !== undefined && t.connectorId === exclude.connectorId && best !== undefined) continue;
      if (best === undefined || t.inFlight < best.inFlight) best = t;
    }
    return best;
  }

  tunnelsOfGroup(groupId: string): readonly Tunnel[] {
    return this.#byGroup.get(groupId) ?? [];
  }

  tunnelsOfConnector(connectorId: string): readonly Tunnel[] {
    return [...(this.#byConnector.get(connectorId) ?? [])];
  }

  all(): Tunnel[] {
    return [...this.#byGroup.values()].flat();
  }

  status(tenantId: string): ConnectorLiveStatus[] {
    const out: ConnectorLiveStatus[] = [];
    for (const [connectorId, set] of this.#byConnector) {
      const tunnels = [...set];
      if (tunnels[0].tenantId !== tenantId) continue;
      const oldest = tunnels.reduce((a, b) => (a.connectedAt < b.connectedAt ? a : b));
      out.push({
        connectorId,
        tunnels: tunnels.filter((t) => t.usable).length,
        connectedSince: oldest.connectedAt.toISOString(),
        address: oldest.address,
        version: oldest.version,
        inFlight: tunnels.reduce((sum, t) => sum + t.inFlight, 0),
      });
    }
    return out;
  }
}
