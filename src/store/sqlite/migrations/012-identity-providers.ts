/**
 * 012 (placeholder number: renumber at merge; the loader refuses gaps, so not 090) — several OpenID Connect providers per tenant (store/rules.ts
 * checkProvider): each provider's whole configuration sealed (AES-256-GCM, client secret inside) in one row. The
 * single provider of the identity settings moves into the list as `default`, its sealed text unchanged (the
 * `default` provider keeps the settings' additional data, sealedFor.oidcProvider). A federated link records the
 * provider that made it.
 */
export const up = `
CREATE TABLE dir_identity_providers (
  tenant_id     TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  id            TEXT NOT NULL,
  position      INTEGER NOT NULL,
  config_sealed TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
) STRICT;
INSERT INTO dir_identity_providers (tenant_id, id, position, config_sealed, created_at, updated_at)
  SELECT tenant_id, 'default', 0, oidc_sealed, updated_at, updated_at FROM dir_identity_settings WHERE oidc_sealed IS NOT NULL;
UPDATE dir_identity_settings SET oidc_sealed = NULL;
ALTER TABLE dir_external_identities ADD COLUMN provider_id TEXT;
`;
