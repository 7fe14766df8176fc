/**
 * 011 (placeholder number: renumber at merge) — admin API tokens (store/admin-tokens.ts): a role, a tenant scope
 * (NULL: every tenant), app ids for an app admin (JSON text), an expiry; only the secret's SHA-256 is kept.
 */
export const up = `
CREATE TABLE admin_tokens (
  id            TEXT PRIMARY KEY,
  tenant_id     TEXT REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  administrator TEXT NOT NULL,
  role          TEXT NOT NULL,
  app_ids       TEXT NOT NULL DEFAULT '[]',
  secret_hash   BLOB NOT NULL,
  expires_at    TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  revoked_at    TEXT
) STRICT;
CREATE INDEX admin_tokens_tenant ON admin_tokens(tenant_id, created_at);
`;
