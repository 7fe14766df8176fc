/**
 * 007 — edge secrets (PostgreSQL's 005): the tunnel CA and the assertion signing keys, private keys sealed with the
 * store's key ring (`<stateDir>/identity.key`). Deployment-wide like edge_nodes, so no tenant_id. At most one CA row;
 * at most one active signing key. Edges upgrading from the files of earlier versions import them once (the edge does).
 */
export const up = `
CREATE TABLE edge_tunnel_ca (
  id         TEXT PRIMARY KEY CHECK (id = 'ca'),
  cert_pem   TEXT NOT NULL,
  key_sealed TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
CREATE TABLE edge_signing_keys (
  kid                TEXT PRIMARY KEY,
  private_jwk_sealed TEXT NOT NULL,
  active             INTEGER NOT NULL CHECK (active IN (0, 1)),
  created_at         TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX edge_signing_keys_one_active ON edge_signing_keys (active) WHERE active = 1;
`;
