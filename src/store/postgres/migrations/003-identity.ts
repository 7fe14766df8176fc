/**
 * 003 — the identity directory (SQLite's 002) in proper types: users, groups, memberships, federated links,
 * licences and their assignments, app assignments, MFA credentials (TOTP secrets sealed with AES-256-GCM, recovery
 * code hashes, passkeys), identity settings, the sign-in log; and the identity master key every node shares.
 *
 * Assignments name a principal (`user` or `group`) by type and id, so they carry no foreign key to either table: the
 * repositories delete them with their principal. The sign-in log, like the audit log, has no foreign key at all: it
 * outlives what it describes.
 *
 * `identity_keys` is the one edge-wide table without `tenant_id`: it holds the master key of the identity key ring
 * (postgres/keys.ts explains why it lives in the database).
 */
export const up = `
CREATE TABLE dir_users (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  upn            text NOT NULL,
  display_name   text NOT NULL,
  email          text,
  onprem_name    text,
  enabled        boolean NOT NULL DEFAULT true,
  source         text NOT NULL CHECK (source IN ('local', 'oidc')),
  password_hash  text,
  failed_count   integer NOT NULL DEFAULT 0,
  locked_until   timestamptz,
  last_signin_at timestamptz,
  created_at     timestamptz NOT NULL,
  updated_at     timestamptz NOT NULL,
  UNIQUE (tenant_id, upn),
  UNIQUE (tenant_id, id)
);

CREATE TABLE dir_external_identities (
  tenant_id  text NOT NULL,
  issuer     text NOT NULL,
  subject    text NOT NULL,
  user_id    text NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, issuer, subject),
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE dir_groups (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  external_id text,
  created_at  timestamptz NOT NULL,
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
);
CREATE UNIQUE INDEX dir_groups_external ON dir_groups(tenant_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE dir_memberships (
  tenant_id text NOT NULL,
  group_id  text NOT NULL,
  user_id   text NOT NULL,
  PRIMARY KEY (tenant_id, group_id, user_id),
  FOREIGN KEY (tenant_id, group_id) REFERENCES dir_groups(tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX dir_memberships_user ON dir_memberships(tenant_id, user_id);

CREATE TABLE dir_licences (
  tenant_id text NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  sku       text NOT NULL CHECK (sku IN ('free', 'basic', 'premium')),
  seats     integer NOT NULL CHECK (seats >= 0),
  PRIMARY KEY (tenant_id, sku)
);

CREATE TABLE dir_licence_assignments (
  tenant_id      text NOT NULL,
  sku            text NOT NULL,
  principal_type text NOT NULL CHECK (principal_type IN ('user', 'group')),
  principal_id   text NOT NULL,
  created_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, sku, principal_type, principal_id),
  FOREIGN KEY (tenant_id, sku) REFERENCES dir_licences(tenant_id, sku) ON DELETE CASCADE
);
CREATE INDEX dir_licence_assignments_principal ON dir_licence_assignments(tenant_id, principal_type, principal_id);

CREATE TABLE dir_app_assignments (
  tenant_id      text NOT NULL,
  app_id         text NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
  principal_type text NOT NULL CHECK (principal_type IN ('user', 'group')),
  principal_id   text NOT NULL,
  created_at     timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, app_id, principal_type, principal_id)
);
CREATE INDEX dir_app_assignments_principal ON dir_app_assignments(tenant_id, principal_type, principal_id);

CREATE TABLE dir_totp (
  tenant_id     text NOT NULL,
  user_id       text NOT NULL,
  secret_sealed text NOT NULL,
  confirmed     boolean NOT NULL DEFAULT false,
  last_step     bigint,
  created_at    timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, user_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE dir_recovery_codes (
  tenant_id text NOT NULL,
  user_id   text NOT NULL,
  code_hash text NOT NULL,
  used_at   timestamptz,
  PRIMARY KEY (tenant_id, user_id, code_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE dir_webauthn_credentials (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL,
  user_id       text NOT NULL,
  credential_id text NOT NULL,
  public_key    text NOT NULL,
  counter       bigint NOT NULL,
  transports    jsonb NOT NULL,
  name          text NOT NULL,
  created_at    timestamptz NOT NULL,
  last_used_at  timestamptz,
  UNIQUE (tenant_id, credential_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES dir_users(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX dir_webauthn_credentials_user ON dir_webauthn_credentials(tenant_id, user_id);

CREATE TABLE dir_identity_settings (
  tenant_id        text PRIMARY KEY REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  require_mfa      boolean NOT NULL DEFAULT false,
  session_idle     integer NOT NULL,
  session_absolute integer NOT NULL,
  allow_persistent boolean NOT NULL DEFAULT false,
  oidc_sealed      text,
  updated_at       timestamptz NOT NULL
);

CREATE TABLE signin_log (
  seq            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id             text NOT NULL UNIQUE,
  tenant_id      text NOT NULL,
  time           timestamptz NOT NULL,
  event          text NOT NULL,
  user_id        text,
  username       text,
  app_id         text,
  client_ip      text,
  user_agent     text,
  result         text NOT NULL CHECK (result IN ('success', 'failure', 'denied', 'interrupted')),
  code           text,
  auth_method    text,
  mfa_method     text,
  correlation_id text,
  detail         jsonb NOT NULL
);
CREATE INDEX signin_log_tenant_seq ON signin_log(tenant_id, seq);
CREATE INDEX signin_log_tenant_user_seq ON signin_log(tenant_id, user_id, seq);
CREATE INDEX signin_log_tenant_app_seq ON signin_log(tenant_id, app_id, seq);

CREATE TABLE identity_keys (
  id         text PRIMARY KEY CHECK (id = 'master'),
  master     bytea NOT NULL CHECK (length(master) = 32),
  created_at timestamptz NOT NULL
);
`;
