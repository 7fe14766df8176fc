/**
 * 001 — the core configuration tables: tenants, connector groups, enrollment tokens, connectors, apps, audit log.
 *
 * Every table carries `tenant_id`. Child tables reference their group through the composite key
 * `(tenant_id, group_id)`, so a row can never point at another tenant's group even if a caller forgets to check.
 * Times are ISO-8601 UTC text (`Date#toISOString()`), which sorts and compares correctly as text.
 */
export const up = `
CREATE TABLE tenants (
  tenant_id    TEXT PRIMARY KEY,
  name         TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  created_at   TEXT NOT NULL
) STRICT;

CREATE TABLE connector_groups (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
) STRICT;

CREATE TABLE enrollment_tokens (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  group_id     TEXT NOT NULL,
  secret_hash  BLOB NOT NULL,
  expires_at   TEXT NOT NULL,
  used_at      TEXT,
  connector_id TEXT,
  created_at   TEXT NOT NULL,
  FOREIGN KEY (tenant_id, group_id) REFERENCES connector_groups(tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX enrollment_tokens_tenant ON enrollment_tokens(tenant_id, created_at);

CREATE TABLE connectors (
  id             TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL REFERENCES tenants(tenant_id),
  group_id       TEXT NOT NULL,
  name           TEXT NOT NULL,
  enabled        INTEGER NOT NULL DEFAULT 1,
  cert_serial    TEXT NOT NULL UNIQUE,
  cert_not_after TEXT NOT NULL,
  version        TEXT,
  hostname       TEXT,
  last_seen_at   TEXT,
  last_address   TEXT,
  created_at     TEXT NOT NULL,
  FOREIGN KEY (tenant_id, group_id) REFERENCES connector_groups(tenant_id, id)
) STRICT;
CREATE INDEX connectors_tenant_group ON connectors(tenant_id, group_id);

CREATE TABLE apps (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL REFERENCES tenants(tenant_id),
  name            TEXT NOT NULL,
  external_url    TEXT NOT NULL,
  external_host   TEXT NOT NULL UNIQUE,
  internal_url    TEXT NOT NULL,
  group_id        TEXT NOT NULL,
  pre_auth        TEXT NOT NULL CHECK (pre_auth IN ('passthrough', 'idp')),
  backend_timeout INTEGER NOT NULL,
  tls_verify      INTEGER NOT NULL,
  backend_ca      TEXT,
  enabled         INTEGER NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  UNIQUE (tenant_id, name),
  FOREIGN KEY (tenant_id, group_id) REFERENCES connector_groups(tenant_id, id)
) STRICT;
CREATE INDEX apps_tenant_group ON apps(tenant_id, group_id);

-- No foreign key to tenants: the audit trail outlives what it describes (including the tenant's own deletion).
-- seq orders the log and backs the paging cursor.
CREATE TABLE audit_events (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  id        TEXT NOT NULL UNIQUE,
  tenant_id TEXT NOT NULL,
  time      TEXT NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  target    TEXT,
  detail    TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_tenant_seq ON audit_events(tenant_id, seq);
CREATE INDEX audit_events_tenant_action_seq ON audit_events(tenant_id, action, seq);
`;
