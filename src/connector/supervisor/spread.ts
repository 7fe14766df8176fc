/**
 * Where the connector's tunnels go when the edge is a cluster (issue 11): pure decisions over the node list the edge
 * announces, so the supervisor only carries them out. Round robin over the nodes with the fewest of this connector's
 * tunnels, so N tunnels land on min(N, nodes) distinct nodes; nodes to avoid (draining, or just failed) get none.
 */
import type { EdgeNodeAddress } from '../../tunnel/protocol.ts';

export type { EdgeNodeAddress };

/**
 * The nodes worth dialling: a list of one (a single-node edge) or none (an older edge) means "dial the configured
 * edge address", which is today's behaviour — a lone node's advertised address may not be reachable from here.
 */
export function dialableNodes(nodes: readonly EdgeNodeAddress[]): readonly EdgeNodeAddress[] {
  return nodes.length >= 2 ? nodes : [];
}

/** Tunnels per node id. */
export function countByNode(nodeIds: Iterable<string | null>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of nodeIds) if (id !== null) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/**
 * The node for the next dial: among those not avoided, the ones carrying the fewest of our tunnels, taken in turn
 * (`turn` rotates between calls so ties do not always favour the first node). Null: dial the configured address.
 */
export function pickNode(
  nodes: readonly EdgeNodeAddress[],
  load: ReadonlyMap<string, number>,
  avoid: ReadonlySet<string>,
  turn: number,
): EdgeNodeAddress | null {
  const candidates = dialableNodes(nodes).filter((n) => !avoid.has(n.id));
  if (candidates.length === 0) return null;
  const least = Math.min(...candidates.map((n) => load.get(n.id) ?? 0));
  const ties = candidates.filter((n) => (load.get(n.id) ?? 0) === least);
  return ties[((turn % ties.length) + ties.length) % ties.length];
}

/**
 * Where a tunnel moves from node `from`: as pickNode, but never onto `from` itself nor onto a node known to be
 * draining. The avoid list forgets a node once it drops out of the node list, and a node drops out and comes back
 * while it restarts; with the avoid list alone, two draining nodes handed a tunnel back and forth until their marks
 * expired. Null: nowhere better, the tunnel stays.
 */
export function moveTarget(
  nodes: readonly EdgeNodeAddress[],
  load: ReadonlyMap<string, number>,
  avoid: ReadonlySet<string>,
  draining: Iterable<string>,
  from: string | null,
  turn: number,
): EdgeNodeAddress | null {
  const skip = new Set([...avoid, ...draining]);
  if (from !== null) skip.add(from);
  return pickNode(nodes, load, skip, turn);
}

/** One of our tunnels as the planner sees it: `key` names it to the caller, `nodeId` is where it is (null: unknown). */
export interface PlacedTunnel {
  key: number;
  nodeId: string | null;
}

/**
 * One move that evens the spread, or null when it is even enough: when a node we may use carries two or more
 * tunnels more than another, one tunnel goes from the busiest to the idlest. Tunnels on nodes outside the list or
 * avoided stay where they are (a node that vanished from the list dies with its tunnels; a draining node asks for
 * its own moves). Repeated after each move, this reaches max − min ≤ 1, hence two distinct nodes for two tunnels.
 */
export function planRebalance(
  nodes: readonly EdgeNodeAddress[],
  tunnels: readonly PlacedTunnel[],
  avoid: ReadonlySet<string>,
): { key: number; to: EdgeNodeAddress } | null {
  const candidates = dialableNodes(nodes).filter((n) => !avoid.has(n.id));
  if (candidates.length < 2) return null;
  const counts = countByNode(tunnels.map((t) => t.nodeId));
  const load = (n: EdgeNodeAddress): number => counts.get(n.id) ?? 0;
  const busiest = candidates.reduce((a, b) => (load(b) > load(a) ? b : a));
  const idlest = candidates.reduce((a, b) => (load(b) < load(a) ? b : a));
  if (load(busiest) - load(idlest) < 2) return null;
  const from = tunnels.filter((t) => t.nodeId === busiest.id).at(-1)!;
  return { key: from.key, to: idlest };
}

/**
 * Nodes to keep away from, each until a time: a draining node for as long as it may take to go, a node whose tunnel
 * just dropped or could not be dialled for a short while. A node absent from a newer list is forgotten (when it comes
 * back it is a new start).
 */
export class AvoidList {
  readonly #until = new Map<string, number>();

  avoid(id: string, forMs: number, now = Date.now()): void {
    this.#until.set(id, Math.max(this.#until.get(id) ?? 0, now + forMs));
  }

  /** The node list changed: nodes no longer in it need no avoiding any more. */
  keepOnly(nodes: readonly EdgeNodeAddress[]): void {
    const listed = new Set(nodes.map((n) => n.id));
    for (const id of this.#until.keys()) if (!listed.has(id)) this.#until.delete(id);
  }

  current(now = Date.now()): Set<string> {
    const out = new Set<string>();
    for (const [id, until] of this.#until) {
      if (until > now) out.add(id);
      else this.#until.delete(id);
    }
    return out;
  }
}
