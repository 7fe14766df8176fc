/** Edge node heartbeats (types.ts `edgeNodes`): liveness judged by the database's clock, not the nodes'. */
import type { EdgeNode, EdgeNodeTunnels, Store } from '../types.ts';
import { type Ctx, type Row, all } from './db.ts';

/** Rows of nodes dead this long are deleted when the list is read. */
const FORGET_AFTER = '1 hour';

const toNode = (r: Row): EdgeNode => ({
  id: r.id as string,
  advertise: r.advertise as string,
  version: r.version as string,
  startedAt: (r.started_at as Date).toISOString(),
  lastSeenAt: (r.last_seen_at as Date).toISOString(),
  inFlight: r.in_flight as number,
  tunnels: r.tunnels as EdgeNodeTunnels[],
});

export function edgeNodesRepo(ctx: Ctx): Store['edgeNodes'] {
  const { pool } = ctx;
  return {
    async heartbeat(node, ttlMs) {
      await pool.query(
        `INSERT INTO edge_nodes (id, advertise, version, started_at, last_seen_at, expires_at, in_flight, tunnels)
         VALUES ($1, $2, $3, $4, now(), now() + $5 * interval '1 millisecond', $6, $7)
         ON CONFLICT (id) DO UPDATE SET advertise = excluded.advertise, version = excluded.version, started_at = excluded.started_at,
           last_seen_at = excluded.last_seen_at, expires_at = excluded.expires_at, in_flight = excluded.in_flight, tunnels = excluded.tunnels`,
        [node.id, node.advertise, node.version, node.startedAt, ttlMs, node.inFlight, JSON.stringify(node.tunnels)],
      );
    },
    async remove(id) {
      await pool.query('DELETE FROM edge_nodes WHERE id = $1', [id]);
    },
    async list() {
      await pool.query(`DELETE FROM edge_nodes WHERE expires_at < now() - interval '${FORGET_AFTER}'`);
      return (await all(pool, 'SELECT * FROM edge_nodes WHERE expires_at > now() ORDER BY id')).map(toNode);
    },
  };
}
