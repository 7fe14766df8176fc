/**
 * 002 — identity: the per-tenant directory (users, groups, memberships, federated links), licences and their
 * assignments, app assignments, MFA credentials (TOTP secrets sealed with AES-256-GCM, recovery code hashes,
 * WebAuthn passkeys), identity settings, and the sign-in log.
 *
 * Assignments name a principal (`user` or `group`) by type and id, so they carry no foreign key to either table:
 * the repositories delete them with their principal. The sign-in log, like the audit log, has no foreign key at all:
 * it outlives what it describes.
 */
export const up = `
CREATE TABLE dir_users (
  id             TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  upn            TEXT NOT NULL,
  display_name   TEXT NOT NULL,
  email          TEXT,
  onprem_name    TEXT,
  enabled        INTEGER NOT NULL DEFAULT 1,
  source         TEXT NOT NULL CHECK (source IN ('local', 'oidc')),
  password_hash  TEXT,
  failed_count   INTEGER NOT NULL DEFAULT 0,
  locked_until   TEXT,
  last_signin_at TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  UNIQUE (tenant_id, upn),
  UNIQUE (tenant_id, id)
) STRICT;

CREATE TABLE dir_external_identities (
  tenant_id  TEXT NOT NULL,
  issuer     TEXT NOT NULL,
  subject    TEXT NOT NULL,
  user_id    TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, issuer, subject),
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE dir_groups (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  external_id TEXT,
  created_at  TEXT NOT NULL,
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX dir_groups_external ON dir_groups(tenant_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE dir_memberships (
  tenant_id TEXT NOT NULL,
  group_id  TEXT NOT NULL,
  user_id   TEXT NOT NULL,
  PRIMARY KEY (tenant_id, group_id, user_id),
  FOREIGN KEY (tenant_id, group_id) REFERENCES dir_groups(tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX dir_memberships_user ON dir_memberships(tenant_id, user_id);

CREATE TABLE dir_licences (
  tenant_id TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  sku       TEXT NOT NULL CHECK (sku IN ('free', 'basic', 'premium')),
  seats     INTEGER NOT NULL CHECK (seats >= 0),
  PRIMARY KEY (tenant_id, sku)
) STRICT;

CREATE TABLE dir_licence_assignments (
  tenant_id      TEXT NOT NULL,
  sku            TEXT NOT NULL,
  principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group')),
  principal_id   TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  PRIMARY KEY (tenant_id, sku, principal_type, principal_id),
  FOREIGN KEY (tenant_id, sku) REFERENCES dir_licences(tenant_id, sku) ON DELETE CASCADE
) STRICT;
CREATE INDEX dir_licence_assignments_principal ON dir_licence_assignments(tenant_id, principal_type, principal_id);

CREATE TABLE dir_app_assignments (
  tenant_id      TEXT NOT NULL,
  app_id         TEXT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  principal_type TEXT NOT NULL CHECK (principal_type IN ('user', 'group')),
  principal_id   TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  PRIMARY KEY (tenant_id, app_id, principal_type, principal_id)
) STRICT;
CREATE INDEX dir_app_assignments_principal ON dir_app_assignments(tenant_id, principal_type, principal_id);

CREATE TABLE dir_totp (
  tenant_id     TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  secret_sealed TEXT NOT NULL,
  confirmed     INTEGER NOT NULL DEFAULT 0,
  last_step     INTEGER,
  created_at    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, user_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE dir_recovery_codes (
  tenant_id TEXT NOT NULL,
  user_id   TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  used_at   TEXT,
  PRIMARY KEY (tenant_id, user_id, code_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE dir_webauthn_credentials (
  id            TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL,
  user_id       TEXT NOT NULL,
  credential_id TEXT NOT NULL,
  public_key    TEXT NOT NULL,
  counter       INTEGER NOT NULL,
  transports    TEXT NOT NULL,
  name          TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  last_used_at  TEXT,
  UNIQUE (tenant_id, credential_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE dir_identity_settings (
  tenant_id          TEXT PRIMARY KEY REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  require_mfa        INTEGER NOT NULL DEFAULT 0,
  session_idle       INTEGER NOT NULL,
  session_absolute   INTEGER NOT NULL,
  allow_persistent   INTEGER NOT NULL DEFAULT 0,
  oidc_sealed        TEXT,
  updated_at         TEXT NOT NULL
) STRICT;

CREATE TABLE signin_log (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  id             TEXT NOT NULL UNIQUE,
  tenant_id      TEXT NOT NULL,
  time           TEXT NOT NULL,
  event          TEXT NOT NULL,
  user_id        TEXT,
  username       TEXT,
  app_id         TEXT,
  client_ip      TEXT,
  user_agent     TEXT,
  result         TEXT NOT NULL CHECK (result IN ('success', 'failure', 'denied', 'interrupted')),
  code           TEXT,
  auth_method    TEXT,
  mfa_method     TEXT,
  correlation_id TEXT,
  detail         TEXT NOT NULL
) STRICT;
CREATE INDEX signin_log_tenant_seq ON signin_log(tenant_id, seq);
CREATE INDEX signin_log_tenant_user_seq ON signin_log(tenant_id, user_id, seq);
CREATE INDEX signin_log_tenant_app_seq ON signin_log(tenant_id, app_id, seq);
`;
