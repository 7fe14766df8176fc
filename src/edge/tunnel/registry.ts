import type { ClientHttp2Stream, ClientSessionRequestOptions, OutgoingHttpHeaders } from 'node:http2';
import type { BackendReachability } from '../../tunnel/protocol.ts';
import type { Tunnel, TunnelLiveStatus } from './tunnel.ts';

export { Tunnel, type TunnelLiveStatus, type StreamHealth } from './tunnel.ts';

/**
 * Other edge nodes that hold tunnels of a group (edge/cluster/relay-peers.ts): a relay to one of them is offered only
 * when no local tunnel can take the stream.
 */
export interface PeerSource {
  /** A relay to the least busy peer node holding usable tunnels of the group; peers in `avoid` only if nothing else. */
  pick(groupId: string, avoid?: ReadonlySet<string>): Tunnel | undefined;
  /**
   * The peer answered that it holds no tunnel of the group after all (its heartbeat, up to a second old, predates a
   * move): passed over for the group until its next heartbeat says otherwise.
   */
  forget(peerNodeId: string, groupId: string): void;
}

/** What the tunnel registry knows about one connector right now (zero tunnels when it is not connected). */
export interface ConnectorLiveStatus {
  connectorId: string;
  groupId?: string;
  /** Usable tunnels (healthy, taking new streams). */
  tunnels: number;
  /** Connector processes holding tunnels (connector run --workers N: each worker dials its own); 0 when down. */
  workers?: number;
  health?: 'healthy' | 'ejected' | 'draining' | 'down';
  connectedSince: string | null;
  address: string | null;
  version: string | null;
  hostname?: string | null;
  inFlight: number;
  /** Best PING round trip over its usable tunnels. */
  rttMs?: number | null;
  tunnelDetails?: TunnelLiveStatus[];
  /** Backend reachability per app, as the connector reports it. */
  backends?: BackendReachability[];
  /** Streams the edge opened to this connector since the edge started. */
  streamsOpened?: number;
}

/** A connector that cannot pick up a stream of this app right now is skipped unless nothing else can. */
interface Candidate {
  connectorId: string;
  /** Open streams over all the connector's tunnels: the load it carries. */
  load: number;
  /** Its least busy usable tunnel that knows the app (none: the connector cannot take the stream). */
  tunnel: Tunnel | undefined;
  /** That tunnel's process was tried already for this request (its other tunnels are a worse bet). */
  tunnelTried: boolean;
  backendDown: boolean;
}

/** Which tunnels exist, by group and by connector, and which one takes the next stream. */
export class TunnelRegistry {
  readonly #byGroup = new Map<string, Tunnel[]>();
  readonly #byConnector = new Map<string, Set<Tunnel>>();
  /** Streams ever opened to each connector (kept after its tunnels go: proves nothing is sent to a dead one). */
  readonly #opened = new Map<string, { tenantId: string; groupId: string; streams: number }>();
  #rotor = 0;
  #peers: PeerSource | null = null;

  /** Other edge nodes to relay to when this one holds no usable tunnel of a group (a cluster). */
  usePeers(peers: PeerSource | null): void {
    this.#peers = peers;
  }

  /**
   * A relay to another edge node holding usable tunnels of the group, for a request no local tunnel can take. The
   * caller asks only once the local tunnels are exhausted (stream-to-group.ts), and never for a relayed stream.
   */
  /** Called for each stream sent to a peer edge node (the relay counter of edge/metrics.ts). */
  onRelayStream?: () => void;

  pickRelay(groupId: string, avoid?: ReadonlySet<string>): Tunnel | undefined {
    return this.#peers?.pick(groupId, avoid);
  }

  /** Opens a stream on `tunnel` (counted in flight until it closes) and counts it for the connector. Throws if refused. */
  openStream(tunnel: Tunnel, headers: OutgoingHttpHeaders, options: ClientSessionRequestOptions): ClientHttp2Stream {
    const stream = tunnel.request(headers, options);
    if (tunnel.relay) {
      this.onRelayStream?.();
      return stream;
    } // a peer node, not a connector: not listed among the tenant's connectors
    const c = this.#opened.get(tunnel.connectorId);
    if (c) {
      c.streams++;
      c.groupId = tunnel.groupId;
    } else this.#opened.set(tunnel.connectorId, { tenantId: tunnel.tenantId, groupId: tunnel.groupId, streams: 1 });
    return stream;
  }

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
      tunnel.moveTo(groupId);
      this.add(tunnel);
    }
  }

  /**
   * Two levels of least outstanding streams: first the connector of the group carrying the fewest open streams, then
   * its least busy tunnel. Only usable tunnels that acknowledged a config with the app count. Connectors in `avoid`
   * (the one that just failed this request) and connectors reporting the app's backend unreachable are taken only
   * when nothing else is left. A rotating start breaks ties, so idle connectors share the load. Within a connector
   * run as several processes (workers), a tunnel of a process in `avoid` is taken only when no other process's is:
   * a worker that died took all its tunnels with it, some of them maybe not seen closed yet.
   */
  pick(groupId: string, appId: string, avoid?: ReadonlySet<string>): Tunnel | undefined {
    const list = this.#byGroup.get(groupId);
    if (!list || list.length === 0) return undefined;
    const candidates = new Map<string, Candidate>();
    const n = list.length;
    const start = this.#rotor++ % n;
    for (let k = 0; k < n; k++) {
      const t = list[(start + k) % n];
      let c = candidates.get(t.connectorId);
      if (!c) {
        c = { connectorId: t.connectorId, load: 0, tunnel: undefined, tunnelTried: false, backendDown: false };
        candidates.set(t.connectorId, c);
      }
      c.load += t.inFlight;
      if (!t.usable || !t.knows(appId)) continue;
      if (t.backendDown(appId)) c.backendDown = true;
      const tried = t.processKey !== t.connectorId && avoid?.has(t.processKey) === true;
      if (
        c.tunnel === undefined ||
        (c.tunnelTried && !tried) ||
        (c.tunnelTried === tried && t.inFlight < c.tunnel.inFlight)
      ) {
        c.tunnel = t;
        c.tunnelTried = tried;
      }
    }
    let best: Candidate | undefined;
    for (const c of candidates.values()) {
      if (c.tunnel === undefined) continue;
      if (
        best === undefined ||
        rank(c, avoid) < rank(best, avoid) ||
        (rank(c, avoid) === rank(best, avoid) && c.load < best.load)
      )
        best = c;
    }
    return best?.tunnel;
  }

  /**
   * For a request that found no tunnel: true when one may become usable soon — a tunnel of the group that is up but
   * has not acknowledged the config with this app yet (the app or connector just moved), or is ejected but alive.
   */
  mayRecover(groupId: string, appId: string, withPeers = false): boolean {
    if ((this.#byGroup.get(groupId) ?? []).some((t) => !t.draining && t.open && (!t.knows(appId) || t.ejected)))
      return true;
    // In a cluster, tunnels move between nodes (a restart, a drain): a peer's heartbeat may show the group any moment.
    return withPeers && this.#peers !== null;
  }

  /**
   * Last resort when no usable tunnel came back in time: the least busy tunnel that was ejected (missed pings, failed
   * streams) but is still open and knows the app. A connector that is only slow (a loaded host) then still answers,
   * which beats a certain 502; a dead one fails the stream when its tunnel closes. Never used while any usable tunnel
   * of the group can take the request.
   */
  pickEjected(groupId: string, appId: string): Tunnel | undefined {
    let best: Tunnel | undefined;
    for (const t of this.#byGroup.get(groupId) ?? []) {
      if (!t.ejected || t.draining || !t.open || !t.knows(appId)) continue;
      if (best === undefined || t.inFlight < best.inFlight) best = t;
    }
    return best;
  }

  /** Waits up to `timeoutMs` for `pick` to find a tunnel (polling; only used on the rare path with none). */
  async waitForTunnel(
    groupId: string,
    appId: string,
    timeoutMs: number,
    avoid?: ReadonlySet<string>,
    withPeers = false,
  ): Promise<Tunnel | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = this.pick(groupId, appId, avoid) ?? (withPeers ? this.pickRelay(groupId, avoid) : undefined);
      if (t || Date.now() >= deadline || !this.mayRecover(groupId, appId, withPeers)) return t;
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** A peer refused a relayed stream for want of a tunnel of the group (PeerSource.forget). */
  forgetRelay(tunnel: Tunnel, groupId: string): void {
    if (tunnel.relay) this.#peers?.forget(tunnel.relay.peerNodeId, groupId);
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
      const usable = tunnels.filter((t) => t.usable);
      const backends = new Map<string, BackendReachability>();
      for (const t of tunnels)
        for (const [appId, b] of t.backends)
          if (!backends.has(appId) || backends.get(appId)!.checkedAt < b.checkedAt) backends.set(appId, b);
      out.push({
        connectorId,
        groupId: oldest.groupId,
        tunnels: usable.length,
        workers: new Set(tunnels.filter((t) => t.open).map((t) => t.processKey)).size,
        health: usable.length > 0 ? 'healthy' : tunnels.some((t) => t.draining) ? 'draining' : 'ejected',
        connectedSince: oldest.connectedAt.toISOString(),
        address: oldest.address,
        version: oldest.version,
        hostname: oldest.hostname,
        inFlight: tunnels.reduce((sum, t) => sum + t.inFlight, 0),
        rttMs: minRtt(usable),
        tunnelDetails: tunnels.map((t) => t.status()),
        backends: [...backends.values()],
        streamsOpened: this.#opened.get(connectorId)?.streams ?? 0,
      });
    }
    for (const [connectorId, c] of this.#opened) {
      if (c.tenantId !== tenantId || this.#byConnector.has(connectorId)) continue;
      out.push({
        connectorId,
        groupId: c.groupId,
        tunnels: 0,
        workers: 0,
        health: 'down',
        connectedSince: null,
        address: null,
        version: null,
        hostname: null,
        inFlight: 0,
        rttMs: null,
        tunnelDetails: [],
        backends: [],
        streamsOpened: c.streams,
      });
    }
    return out;
  }
}

/** Lower is better: a usable connector not just failed, with its backend reachable, comes first. */
function rank(c: Candidate, avoid: ReadonlySet<string> | undefined): number {
  return (avoid?.has(c.connectorId) ? 2 : 0) + (c.backendDown ? 1 : 0);
}

function minRtt(tunnels: Tunnel[]): number | null {
  const rtts = tunnels.map((t) => t.rttMs).filter((r): r is number => r !== null);
  return rtts.length > 0 ? Math.min(...rtts) : null;
}
