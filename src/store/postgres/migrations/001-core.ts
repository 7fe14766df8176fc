/**
 * 001 — the core configuration tables for PostgreSQL: tenants, connector groups, enrollment tokens, connectors, apps,
 * audit log. The same shape and constraints as SQLite's 001–004 (this history starts with them folded in), in proper
 * types: timestamptz, boolean, bytea, jsonb.
 *
 * Every table carries `tenant_id`. Child tables reference their group through the composite key
 * `(tenant_id, group_id)`, so a row can never point at another tenant's group even if a caller forgets to check.
 * Unqualified names: the tables live in the first schema of the connection's search_path.
 */
export const up = `
CREATE TABLE tenants (
  tenant_id    text PRIMARY KEY,
  name         text NOT NULL UNIQUE,
  display_name text NOT NULL,
  created_at   timestamptz NOT NULL
);

CREATE TABLE connector_groups (
  id         text PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  name       text NOT NULL,
  created_at timestamptz NOT NULL,
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, id)
);

CREATE TABLE enrollment_tokens (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  group_id     text NOT NULL,
  secret_hash  bytea NOT NULL,
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz,
  connector_id text,
  created_at   timestamptz NOT NULL,
  FOREIGN KEY (tenant_id, group_id) REFERENCES connector_groups(tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX enrollment_tokens_tenant ON enrollment_tokens(tenant_id, created_at);

CREATE TABLE connectors (
  id             text PRIMARY KEY,
  tenant_id      text NOT NULL REFERENCES tenants(tenant_id),
  group_id       text NOT NULL,
  name           text NOT NULL,
  enabled        boolean NOT NULL DEFAULT true,
  cert_serial    text NOT NULL UNIQUE,
  cert_not_after timestamptz NOT NULL,
  version        text,
  hostname       text,
  last_seen_at   timestamptz,
  last_address   text,
  created_at     timestamptz NOT NULL,
  FOREIGN KEY (tenant_id, group_id) REFERENCES connector_groups(tenant_id, id)
);
CREATE INDEX connectors_tenant_group ON connectors(tenant_id, group_id);

CREATE TABLE apps (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants(tenant_id),
  name            text NOT NULL,
  external_url    text NOT NULL,
  external_host   text NOT NULL UNIQUE,
  internal_url    text NOT NULL,
  group_id        text NOT NULL,
  pre_auth        text NOT NULL CHECK (pre_auth IN ('passthrough', 'idp')),
  backend_timeout integer NOT NULL,
  tls_verify      boolean NOT NULL,
  backend_ca      text,
  retry_writes    boolean NOT NULL DEFAULT false,
  sso             jsonb NOT NULL DEFAULT '{"mode":"none"}',
  enabled         boolean NOT NULL,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  UNIQUE (tenant_id, name),
  FOREIGN KEY (tenant_id, group_id) REFERENCES connector_groups(tenant_id, id)
);
CREATE INDEX apps_tenant_group ON apps(tenant_id, group_id);

-- No foreign key to tenants: the audit trail outlives what it describes (including the tenant's own deletion).
-- seq orders the log and backs the paging cursor.
CREATE TABLE audit_events (
  seq       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id        text NOT NULL UNIQUE,
  tenant_id text NOT NULL,
  time      timestamptz NOT NULL,
  actor     text NOT NULL,
  action    text NOT NULL,
  target    text,
  detail    jsonb NOT NULL
);
CREATE INDEX audit_events_tenant_seq ON audit_events(tenant_id, seq);
CREATE INDEX audit_events_tenant_action_seq ON audit_events(tenant_id, action, seq);
`;
