/**
 * 005 — edge secrets shared by every node (SQLite's 007): the tunnel CA and the assertion signing keys, private keys
 * sealed with the store's key ring. Deployment-wide like edge_nodes, so no tenant_id. At most one CA row; at most one
 * active signing key (the partial unique index), which is what lets nodes racing on an empty database agree.
 */
export const up = `
CREATE TABLE edge_tunnel_ca (
  id         text PRIMARY KEY CHECK (id = 'ca'),
  cert_pem   text NOT NULL,
  key_sealed text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE TABLE edge_signing_keys (
  kid                 text PRIMARY KEY,
  private_jwk_sealed  text NOT NULL,
  active              boolean NOT NULL,
  created_at          timestamptz NOT NULL
);
CREATE UNIQUE INDEX edge_signing_keys_one_active ON edge_signing_keys (active) WHERE active;
`;
