/**
 * 004 — edge nodes (SQLite's 006): each node's heartbeat, when no Redis holds the registry (edge/cluster/). The one
 * table without tenant_id: a node belongs to the deployment and serves every tenant; its `tunnels` name theirs.
 */
export const up = `
CREATE TABLE edge_nodes (
  id           text PRIMARY KEY,
  advertise    text NOT NULL,
  version      text NOT NULL,
  started_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at   timestamptz NOT NULL,
  in_flight    integer NOT NULL DEFAULT 0,
  tunnels      jsonb NOT NULL DEFAULT '[]'
);
`;
