/**
 * Tells connectors about the edge nodes (issue 11): the live node list on every tunnel when it comes up and whenever
 * the registry's list changes, so connectors spread their tunnels over the nodes; and, when this node drains, an
 * `edge-draining` event on each tunnel, so its connector dials another node first and then drains the tunnel here.
 * A connector that answers 404 (an older one) gets no more events and is not waited for.
 */
import type { Logger } from '../../lib/log.ts';
import type { EdgeNode } from '../../store/types.ts';
import type { EdgeEvent, EdgeNodeAddress } from '../../tunnel/protocol.ts';
import { sendEdgeEvent } from '../../tunnel/control.ts';
import type { Tunnel, TunnelRegistry } from '../tunnel/registry.ts';

/** `host:port` a connector dials to reach a node, from its advertised URL (null when the URL does not parse). */
export function tunnelAddressOf(advertise: string): string | null {
  try {
    const url = new URL(advertise);
    if (!url.hostname) return null;
    return `${url.hostname}:${url.port || 443}`;
  } catch {
    return null;
  }
}

export class NodeAnnouncer {
  readonly #registry: TunnelRegistry;
  /** This node's registry id (known once the registry has started; no event goes out before). */
  readonly #selfId: () => string;
  readonly #logger: Logger;
  #nodes: EdgeNodeAddress[] = [];
  #signature = '';
  /** Tunnels whose connector does not understand edge events. */
  readonly #deaf = new WeakSet<Tunnel>();
  #draining: { deadlineAt: number } | null = null;
  /** Tunnels whose connector said it is moving away: the drain waits for them to close. */
  readonly #moving = new Set<Tunnel>();

  constructor(options: { registry: TunnelRegistry; selfId: () => string; logger: Logger }) {
    this.#registry = options.registry;
    this.#selfId = options.selfId;
    this.#logger = options.logger;
  }

  /** The registry's list, read again: pushed to every tunnel when it changed. */
  update(nodes: readonly EdgeNode[]): void {
    if (this.#draining) return;
    const next = nodes
      .map((n) => ({ id: n.id, address: tunnelAddressOf(n.advertise) }))
      .filter((n): n is EdgeNodeAddress => n.address !== null)
      .sort((a, b) => a.id.localeCompare(b.id));
    const signature = next.map((n) => `${n.id}@${n.address}`).join(',');
    if (signature === this.#signature) return;
    this.#signature = signature;
    this.#nodes = next;
    for (const tunnel of this.#registry.all())
      if (tunnel.open && !tunnel.draining) void this.#send(tunnel, this.#nodesEvent());
  }

  /** A tunnel just came up (registered, first configuration pushed): it learns the nodes, and of the drain if any. */
  welcome(tunnel: Tunnel): void {
    if (this.#nodes.length > 0) void this.#send(tunnel, this.#nodesEvent());
    if (this.#draining) void this.#askToMove(tunnel);
  }

  /**
   * This node drains: every connector is asked to move its tunnels to other nodes. Resolves once the tunnels of the
   * connectors that said they move have closed (each drained by its connector once its replacement is up), or at
   * `deadlineMs`. Returns how many moved and how many were still here.
   */
  async drain(deadlineMs: number): Promise<{ moved: number; left: number }> {
    this.#draining ??= { deadlineAt: Date.now() + deadlineMs };
    const deadlineAt = this.#draining.deadlineAt;
    await Promise.all(this.#registry.all().map((t) => this.#askToMove(t)));
    while (Date.now() < deadlineAt && [...this.#moving].some((t) => t.open)) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const left = [...this.#moving].filter((t) => t.open).length;
    return { moved: this.#moving.size - left, left };
  }

  #nodesEvent(): EdgeEvent {
    return { type: 'nodes', self: this.#selfId(), nodes: this.#nodes };
  }

  async #askToMove(tunnel: Tunnel): Promise<void> {
    if (!tunnel.open || this.#deaf.has(tunnel) || !this.#draining) return;
    const deadlineMs = Math.max(0, this.#draining.deadlineAt - Date.now());
    const ack = await this.#send(tunnel, { type: 'edge-draining', self: this.#selfId(), deadlineMs });
    if (ack?.moving) this.#moving.add(tunnel);
  }

  async #send(tunnel: Tunnel, event: EdgeEvent): Promise<{ moving?: boolean } | null> {
    if (this.#deaf.has(tunnel)) return null;
    try {
      const ack = await sendEdgeEvent(tunnel.session, event);
      if (ack === null) this.#deaf.add(tunnel);
      return ack;
    } catch (err) {
      if (tunnel.open)
        this.#logger.debug(
          { tunnelId: tunnel.id, connectorId: tunnel.connectorId, event: event.type, err: (err as Error).message },
          'edge event not delivered',
        );
      return null;
    }
  }
}
