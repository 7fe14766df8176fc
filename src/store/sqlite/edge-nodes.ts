/** Edge node heartbeats (types.ts `edgeNodes`) in the SQLite file: the embedded edge lists itself. */
import type { EdgeNode, EdgeNodeTunnels, Store } from '../types.ts';
import type { Ctx, Row } from './db.ts';

/** Rows of nodes dead this long are deleted when the list is read. */
const FORGET_AFTER_MS = 3_600_000;

const toNode = (r: Row): EdgeNode => ({
  id: r.id as string,
  advertise: r.advertise as string,
  version: r.version as string,
  startedAt: r.started_at as string,
  lastSeenAt: r.last_seen_at as string,
  inFlight: Number(r.in_flight),
  tunnels: JSON.parse(r.tunnels as string) as EdgeNodeTunnels[],
});

export function edgeNodesRepo(ctx: Ctx): Store['edgeNodes'] {
  const { db } = ctx;
  const upsert = db.prepare(
    `INSERT INTO edge_nodes (id, advertise, version, started_at, last_seen_at, expires_at, in_flight, tunnels) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET advertise = excluded.advertise, version = excluded.version, started_at = excluded.started_at,
       last_seen_at = excluded.last_seen_at, expires_at = excluded.expires_at, in_flight = excluded.in_flight, tunnels = excluded.tunnels`,
  );
  return {
    async heartbeat(node, ttlMs) {
      const t = Date.now();
      upsert.run(
        node.id,
        node.advertise,
        node.version,
        node.startedAt,
        new Date(t).toISOString(),
        new Date(t + ttlMs).toISOString(),
        node.inFlight,
        JSON.stringify(node.tunnels),
      );
    },
    async remove(id) {
      db.prepare('DELETE FROM edge_nodes WHERE id = ?').run(id);
    },
    async list() {
      const t = Date.now();
      db.prepare('DELETE FROM edge_nodes WHERE expires_at < ?').run(new Date(t - FORGET_AFTER_MS).toISOString());
      return (
        db.prepare('SELECT * FROM edge_nodes WHERE expires_at > ? ORDER BY id').all(new Date(t).toISOString()) as Row[]
      ).map(toNode);
    },
  };
}
