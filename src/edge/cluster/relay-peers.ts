/**
 * The relay's client side (issue 11, "any node serves any app"): which other edge nodes hold usable tunnels of which
 * connector group, and one pooled HTTP/2 session to each of them.
 *
 * The view is in memory, refreshed from the node registry after each heartbeat (edge/cluster/registry.ts), so a
 * request never waits for Redis or the store. A peer's session is a Tunnel flagged as a relay: the tunnel registry
 * offers it only when no local tunnel can serve (stream-to-group.ts), and from there retries, ejection, in-flight
 * counting, resume and upgrades are the local tunnel's code. The session is dialled as soon as the peer holds any
 * group, so the first relayed request finds it warm, and closed when the peer leaves the registry.
 */
import http2, { type ClientHttp2Session } from 'node:http2';
import tls from 'node:tls';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { EdgeNode } from '../../store/types.ts';
import type { Logger } from '../../lib/log.ts';
import { TUNNEL_SESSION_OPTIONS, widenConnectionWindow } from '../../tunnel/flow-control.ts';
import { Tunnel, type PeerSource } from '../tunnel/registry.ts';
import { watchHealth } from '../tunnel/health.ts';
import { receiveBudget } from '../tunnel/receive-budget.ts';
import { tlsProfileOptions } from '../listen/tls-profile.ts';
import { RELAY_ALPN, nodeIdOfPeer, type NodeCredentials } from './relay-credentials.ts';

/** PING period on a relay session: a peer silent for 3 periods is ejected (its waiting streams fail over), 10 closed. */
export const RELAY_PING_MS = 1_000;
/** A peer that left the registry (drained or dead) keeps its in-flight streams this long, then its session is cut. */
export const LEFT_PEER_GRACE_MS = 60_000;

/** The tried-set key of a relay to `nodeId` (tried sets hold connector ids; a relay counts as one more connector). */
export const relayKey = (nodeId: string): string => `relay:${nodeId}`;

/** Opens the session to a peer; tests pass socket-free sessions. */
export type ConnectPeer = (peer: { id: string; advertise: string }, credentials: NodeCredentials) => ClientHttp2Session;

export interface RelayPeersOptions {
  selfId: string;
  credentials(): NodeCredentials;
  logger: Logger;
  connect?: ConnectPeer;
  /** Health watching of the sessions (off in unit tests). */
  pingIntervalMs?: number | null;
}

interface Peer {
  id: string;
  advertise: string;
  /** Groups it holds usable tunnels of, at its last heartbeat. */
  groups: Set<string>;
  tunnel: Tunnel | null;
  stopHealth(): void;
}

/** The groups a node holds usable tunnels of (older nodes report no `usable`: their tunnel count stands in). */
export function groupsServedBy(node: Pick<EdgeNode, 'tunnels'>): Set<string> {
  return new Set(node.tunnels.filter((t) => (t.usable ?? t.tunnels) > 0).map((t) => t.groupId));
}

export class RelayPeers implements PeerSource {
  readonly #options: RelayPeersOptions;
  readonly #peers = new Map<string, Peer>();
  readonly #connect: ConnectPeer;
  #rotor = 0;
  #closed = false;

  constructor(options: RelayPeersOptions) {
    this.#options = options;
    this.#connect = options.connect ?? connectPeer;
  }

  /** The registry's node list, after a heartbeat: peers come, go, and change the groups they hold. */
  update(nodes: readonly EdgeNode[]): void {
    if (this.#closed) return;
    const listed = new Set<string>();
    for (const node of nodes) {
      if (node.id === this.#options.selfId) continue;
      listed.add(node.id);
      let peer = this.#peers.get(node.id);
      if (peer && peer.advertise !== node.advertise) {
        this.#leave(peer, 'advertised address changed');
        peer = undefined;
      }
      if (!peer) {
        peer = { id: node.id, advertise: node.advertise, groups: new Set(), tunnel: null, stopHealth: () => {} };
        this.#peers.set(node.id, peer);
      }
      peer.groups = groupsServedBy(node);
      if (peer.groups.size > 0 && (peer.tunnel === null || !peer.tunnel.open)) this.#dial(peer);
    }
    for (const peer of [...this.#peers.values()]) if (!listed.has(peer.id)) this.#leave(peer, 'left the node registry');
  }

  /** The least busy peer holding usable tunnels of the group; peers in `avoid` (already tried) only if nothing else. */
  pick(groupId: string, avoid?: ReadonlySet<string>): Tunnel | undefined {
    const candidates: Tunnel[] = [];
    for (const peer of this.#peers.values()) {
      if (peer.groups.has(groupId) && peer.tunnel?.usable) candidates.push(peer.tunnel);
    }
    if (candidates.length === 0) return undefined;
    const start = this.#rotor++ % candidates.length;
    let best: Tunnel | undefined;
    for (let k = 0; k < candidates.length; k++) {
      const t = candidates[(start + k) % candidates.length];
      if (best === undefined || score(t, avoid) < score(best, avoid)) best = t;
    }
    return best;
  }

  forget(peerNodeId: string, groupId: string): void {
    this.#peers.get(peerNodeId)?.groups.delete(groupId);
  }

  /** Peers and the groups they serve, for logs and tests. */
  peers(): { id: string; advertise: string; groups: string[]; connected: boolean }[] {
    return [...this.#peers.values()].map((p) => ({
      id: p.id,
      advertise: p.advertise,
      groups: [...p.groups].sort(),
      connected: p.tunnel?.usable ?? false,
    }));
  }

  /** At shutdown, after this node's own requests have drained: every session goes. */
  close(): void {
    this.#closed = true;
    for (const peer of this.#peers.values()) {
      peer.stopHealth();
      peer.tunnel?.session.destroy();
    }
    this.#peers.clear();
  }

  #dial(peer: Peer): void {
    const { logger, selfId } = this.#options;
    let session: ClientHttp2Session;
    try {
      session = this.#connect(peer, this.#options.credentials());
    } catch (err) {
      logger.warn(
        { peer: peer.id, advertise: peer.advertise, err: (err as Error).message },
        'relay: cannot dial peer node',
      );
      return;
    }
    const tunnel = new Tunnel({
      id: `rel_${randomBytes(6).toString('hex')}`,
      connectorId: relayKey(peer.id),
      tenantId: '',
      certSerial: '',
      groupId: '',
      session,
      address: peer.advertise,
      version: null,
      hostname: null,
      relay: { peerNodeId: peer.id, fromNodeId: selfId },
    });
    peer.tunnel = tunnel;
    session.on('error', (err) => logger.debug({ peer: peer.id, err: err.message }, 'relay session error'));
    // A peer closing its sessions (its drain) takes no new stream; the open ones finish.
    session.on('goaway', () => tunnel.drain());
    session.once('close', () => {
      tunnel.retire();
      if (peer.tunnel === tunnel) {
        peer.stopHealth();
        peer.tunnel = null;
      }
      logger.info({ peer: peer.id }, 'relay session closed');
    });
    receiveBudget.watch(tunnel);
    if (this.#options.pingIntervalMs !== null) {
      peer.stopHealth = watchHealth(tunnel, {
        intervalMs: this.#options.pingIntervalMs ?? RELAY_PING_MS,
        statusIntervalMs: Number.POSITIVE_INFINITY, // a peer node has no connector status report
        logger,
        onEject: (reason) => logger.warn({ peer: peer.id, reason }, 'relay to peer node ejected'),
        onRestore: () => logger.info({ peer: peer.id }, 'relay to peer node restored'),
      });
    }
    logger.info({ peer: peer.id, advertise: peer.advertise, groups: [...peer.groups] }, 'relay: dialling peer node');
  }

  /** The peer is gone from the registry (drained, dead, partitioned): no new stream; in-flight ones get a grace period. */
  #leave(peer: Peer, why: string): void {
    this.#peers.delete(peer.id);
    const tunnel = peer.tunnel;
    if (!tunnel) return;
    this.#options.logger.info({ peer: peer.id, why, inFlight: tunnel.inFlight }, 'relay: peer node left');
    tunnel.drain();
    if (!tunnel.open) return peer.stopHealth();
    tunnel.session.close();
    const cut = setTimeout(() => tunnel.session.destroy(), LEFT_PEER_GRACE_MS);
    cut.unref();
    tunnel.session.once('close', () => clearTimeout(cut));
  }
}

/** Lower is better: not tried yet first, then fewest streams in flight. */
function score(t: Tunnel, avoid: ReadonlySet<string> | undefined): number {
  return (avoid?.has(t.connectorId) ? 1e9 : 0) + t.inFlight;
}

/**
 * Mutual TLS to the peer's advertised URL with the relay ALPN (its public port routes it to the relay server), this
 * node's certificate as the client's, and only a node certificate of the shared tunnel CA accepted from the server —
 * the one naming the peer we meant to reach.
 */
export const connectPeer: ConnectPeer = (peer, credentials) => {
  const url = new URL(peer.advertise);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const session = http2.connect(url.origin, {
    ...TUNNEL_SESSION_OPTIONS,
    createConnection: () =>
      tls.connect({
        host,
        port: Number(url.port || 443),
        servername: isIP(host) ? undefined : host,
        ALPNProtocols: [RELAY_ALPN],
        ca: credentials.caCertPem,
        cert: credentials.certPem,
        key: credentials.keyPem,
        ...tlsProfileOptions('modern'),
        checkServerIdentity: (_name, cert) => {
          const id = nodeIdOfPeer(cert, 'server');
          return id === peer.id
            ? undefined
            : new Error(
                `relay: the server at ${peer.advertise} is ${id === null ? 'not an edge node' : `node ${id}`}, expected node ${peer.id}`,
              );
        },
      }),
  });
  widenConnectionWindow(session);
  return session;
};
