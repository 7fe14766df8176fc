/** 009 (placeholder number: renumber at merge) — admin API tokens (SQLite's 011, store/admin-tokens.ts). */
export const up = `
CREATE TABLE admin_tokens (
  id            text PRIMARY KEY,
  tenant_id     text REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  administrator text NOT NULL,
  role          text NOT NULL,
  app_ids       jsonb NOT NULL DEFAULT '[]',
  secret_hash   bytea NOT NULL,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL,
  created_by    text NOT NULL,
  revoked_at    timestamptz
);
CREATE INDEX admin_tokens_tenant ON admin_tokens(tenant_id, created_at);
`;
