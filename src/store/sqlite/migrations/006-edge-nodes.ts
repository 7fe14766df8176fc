/**
 * 006 — edge nodes (PostgreSQL's 004): each node's heartbeat, when no Redis holds the registry (edge/cluster/). The
 * one table without tenant_id: a node belongs to the deployment and serves every tenant; its `tunnels` name theirs.
 */
export const up = `
CREATE TABLE edge_nodes (
  id           TEXT PRIMARY KEY,
  advertise    TEXT NOT NULL,
  version      TEXT NOT NULL,
  started_at   TEXT NOT NULL,
  last_seen_at TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  in_flight    INTEGER NOT NULL DEFAULT 0,
  tunnels      TEXT NOT NULL DEFAULT '[]'
) STRICT;
`;
