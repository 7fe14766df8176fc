/** 010 (placeholder number: renumber at merge) — several OpenID Connect providers per tenant (SQLite's 012). */
export const up = `
CREATE TABLE dir_identity_providers (
  tenant_id     text NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  id            text NOT NULL,
  position      integer NOT NULL,
  config_sealed text NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
INSERT INTO dir_identity_providers (tenant_id, id, position, config_sealed, created_at, updated_at)
  SELECT tenant_id, 'default', 0, oidc_sealed, updated_at, updated_at FROM dir_identity_settings WHERE oidc_sealed IS NOT NULL;
UPDATE dir_identity_settings SET oidc_sealed = NULL;
ALTER TABLE dir_external_identities ADD COLUMN provider_id text;
`;
