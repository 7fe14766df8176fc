import type {
  ClientHttp2Session,
  ClientHttp2Stream,
  ClientSessionRequestOptions,
  OutgoingHttpHeaders,
} from 'node:http2';
import type { BackendReachability } from '../../tunnel/protocol.ts';
import { releaseWhenClosed } from '../../lib/release-closed-stream.ts';

/** How a tunnel stands for routing: only `healthy` takes new streams. */
export type TunnelState = 'healthy' | 'ejected' | 'draining' | 'closing';

/** One tunnel as the admin API shows it. */
export interface TunnelLiveStatus {
  id: string;
  /** `healthy` takes new streams; `ejected` failed health checks and is probed back in; `draining` is finishing. */
  state: TunnelState;
  ejectReason: string | null;
  rttMs: number | null;
  inFlight: number;
  connectedSince: string;
  address: string | null;
  configVersion: number;
  /** Serial of the client certificate it was opened with (a renewal moves every tunnel onto the new one). */
  certSerial: string;
  /** The connector process holding it (connector run --workers N: one per worker), when the connector said. */
  pid: number | null;
  worker: number | null;
}

/** Stream outcomes feed the health watcher (a run of failures ejects the tunnel). */
export interface StreamHealth {
  streamFailed(): void;
  streamSucceeded(): void;
}

const NO_HEALTH: StreamHealth = { streamFailed() {}, streamSucceeded() {} };

export interface TunnelIdentity {
  id: string;
  connectorId: string;
  tenantId: string;
  /** Serial of the client certificate this tunnel was opened with (lower-case hex). */
  certSerial: string;
  groupId: string;
  session: ClientHttp2Session;
  address: string | null;
  version: string | null;
  hostname: string | null;
  /** The connector process that dialled it (its hello); null from a connector too old to say. */
  pid?: number | null;
  /** That process's worker index under `connector run --workers N`; null for a connector run as one process. */
  worker?: number | null;
  /**
   * Set on a relay: a session to another edge node (edge/cluster/relay-peers.ts) that holds tunnels of the group. It
   * routes like a tunnel (in-flight count, fail-over, resume) but takes any app, and marks each stream as relayed.
   */
  relay?: RelayRoute;
}

/** Where a relay leads: the peer node, and this node's id (the marker each relayed stream carries). */
export interface RelayRoute {
  peerNodeId: string;
  fromNodeId: string;
}

/** Marks a stream one edge node relays to another; the receiving node never relays it again (one hop). */
export const RELAYED_HEADER = 'x-drawbridge-relayed-from';

/**
 * One live tunnel: an HTTP/2 client session over a connector's outbound TLS connection. Its routing state changes
 * only through the methods below, each named for the event that causes it (a drain, an ejection, a config
 * acknowledgement), and its open streams only through `request`: added once, and removed when the stream
 * closes, in one place.
 */
export class Tunnel {
  readonly id: string;
  readonly connectorId: string;
  readonly tenantId: string;
  readonly certSerial: string;
  readonly session: ClientHttp2Session;
  readonly connectedAt = new Date();
  readonly address: string | null;
  readonly version: string | null;
  readonly hostname: string | null;
  readonly pid: number | null;
  readonly worker: number | null;
  /**
   * The connector process behind it: tunnels of one connector's workers sit side by side, and a request that failed
   * on one process is retried on another process's tunnel first (its other tunnels died with it).
   */
  readonly processKey: string;
  /** Non-null for a relay to another edge node. */
  readonly relay: RelayRoute | null;
  #groupId: string;
  readonly #streams = new Set<ClientHttp2Stream>();
  #apps = new Set<string>();
  #configVersion = 0;
  #draining = false;
  #closing = false;
  #ejectReason: string | null = null;
  #rttMs: number | null = null;
  #backends = new Map<string, BackendReachability>();
  /** Streams still waiting for their response headers: ejection fails them over at once. */
  readonly #awaiting = new Set<() => void>();
  #health: StreamHealth = NO_HEALTH;

  constructor(identity: TunnelIdentity) {
    this.id = identity.id;
    this.connectorId = identity.connectorId;
    this.tenantId = identity.tenantId;
    this.certSerial = identity.certSerial;
    this.#groupId = identity.groupId;
    this.session = identity.session;
    this.address = identity.address;
    this.version = identity.version;
    this.hostname = identity.hostname;
    this.pid = identity.pid ?? null;
    this.worker = identity.worker ?? null;
    this.processKey = this.pid === null ? this.connectorId : `${this.connectorId}@${this.hostname}:${this.pid}`;
    this.relay = identity.relay ?? null;
  }

  get groupId(): string {
    return this.#groupId;
  }
  /** Streams open on this tunnel right now (requests, WebSockets, RD Gateway channels all count). */
  get inFlight(): number {
    return this.#streams.size;
  }
  get configVersion(): number {
    return this.#configVersion;
  }
  get draining(): boolean {
    return this.#draining;
  }
  get ejected(): boolean {
    return this.#ejectReason !== null;
  }
  get ejectReason(): string | null {
    return this.#ejectReason;
  }
  get rttMs(): number | null {
    return this.#rttMs;
  }
  get backends(): ReadonlyMap<string, BackendReachability> {
    return this.#backends;
  }
  get health(): StreamHealth {
    return this.#health;
  }
  get open(): boolean {
    return !this.session.closed && !this.session.destroyed;
  }

  /** Takes new streams: not draining, closing or ejected, and the session is up. */
  get usable(): boolean {
    return !this.#draining && !this.#closing && this.#ejectReason === null && this.open;
  }

  get state(): TunnelState {
    return this.#draining ? 'draining' : this.#ejectReason !== null ? 'ejected' : this.usable ? 'healthy' : 'closing';
  }

  /** The connector acknowledged a config with this app: routing may send it the app's streams. */
  knows(appId: string): boolean {
    // A relay's peer node routes the app itself (its own tunnels' acknowledgements count there).
    return this.relay !== null || this.#apps.has(appId);
  }

  /** The connector last reported the app's backend unreachable. */
  backendDown(appId: string): boolean {
    return this.#backends.get(appId)?.reachable === false;
  }

  // --- routing state, one method per event ---

  /** The connector (or this edge) is draining: no new streams, the open ones finish. False if it already was. */
  drain(): boolean {
    if (this.#draining) return false;
    this.#draining = true;
    return true;
  }

  /** The session is closing or refused a stream: never picked again. */
  retire(): void {
    this.#closing = true;
  }

  /** Health checks failed: out of rotation, and streams waiting for their response fail over now. */
  eject(reason: string): boolean {
    if (this.#ejectReason !== null || this.#draining) return false;
    this.#ejectReason = reason;
    for (const failOver of [...this.#awaiting]) failOver();
    return true;
  }

  /** A health probe answered: back in rotation. */
  restore(): boolean {
    if (this.#ejectReason === null || this.#draining || !this.open) return false;
    this.#ejectReason = null;
    return true;
  }

  /** The connector applied config `version` with these apps (an older acknowledgement never wins). */
  acknowledge(version: number, appIds: Iterable<string>): void {
    if (version < this.#configVersion) return;
    this.#configVersion = version;
    this.#apps = new Set(appIds);
  }

  /**
   * The connector refused the app (it applied a config without it before the edge saw the acknowledgement): passed
   * over for the app until a newer acknowledgement says otherwise.
   */
  forgetApp(appId: string, configVersionAtPick: number): void {
    if (this.#configVersion === configVersionAtPick) this.#apps.delete(appId);
  }

  recordRtt(ms: number): void {
    this.#rttMs = Math.round(ms * 100) / 100;
  }

  recordBackends(reports: readonly BackendReachability[]): void {
    this.#backends = new Map(reports.map((b) => [b.appId, b]));
  }

  /** The health watcher that stream outcomes feed. */
  watchedBy(health: StreamHealth): void {
    this.#health = health;
  }

  /** Only the registry moves a tunnel between groups (it re-indexes it). */
  moveTo(groupId: string): void {
    this.#groupId = groupId;
  }

  // --- streams ---

  /** Opens a stream, counted in flight until it closes. Throws when the session refuses (then the tunnel retires). */
  request(headers: OutgoingHttpHeaders, options: ClientSessionRequestOptions): ClientHttp2Stream {
    let stream: ClientHttp2Stream;
    try {
      const list = headerList(headers);
      if (this.relay) list.push(RELAYED_HEADER, this.relay.fromNodeId);
      stream = this.session.request(list, options);
    } catch (err) {
      if (!this.open) this.retire();
      throw err;
    }
    this.#streams.add(stream);
    stream.once('close', () => {
      this.#streams.delete(stream);
    });
    releaseWhenClosed(stream);
    return stream;
  }

  /** Response bytes received on this tunnel's open streams that their readers have not taken yet (slow clients). */
  unreadBytes(): number {
    let sum = 0;
    for (const stream of this.#streams) sum += stream.readableLength ?? 0;
    return sum;
  }

  /** Registers a fail-over for a stream waiting for its response; ejection runs it. Returns its removal. */
  awaitResponse(failOver: () => void): () => void {
    this.#awaiting.add(failOver);
    return () => {
      this.#awaiting.delete(failOver);
    };
  }

  status(): TunnelLiveStatus {
    return {
      id: this.id,
      state: this.state,
      ejectReason: this.#ejectReason,
      rttMs: this.#rttMs,
      inFlight: this.#streams.size,
      connectedSince: this.connectedAt.toISOString(),
      address: this.address,
      configVersion: this.#configVersion,
      certSerial: this.certSerial,
      pid: this.pid,
      worker: this.worker,
    };
  }
}

/**
 * The headers as the flat [name, value, …] list Node's HTTP/2 client also takes: given an object, `request()` first
 * copies it into a dictionary-mode object and lists its keys, about 1 KiB of garbage per request on the edge's hot path.
 */
export function headerList(headers: OutgoingHttpHeaders): string[] {
  const list: string[] = [];
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) list.push(name, v);
    else list.push(name, typeof value === 'string' ? value : String(value));
  }
  return list;
}
