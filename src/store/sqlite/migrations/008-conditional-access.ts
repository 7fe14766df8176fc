/**
 * 007 — conditional access (PostgreSQL's 005): named locations and policies per tenant. Conditions and grant are
 * one JSON document each (store/policy-rules.ts checks them before any write); policies name locations by id inside
 * that document, so the repository refuses to delete a location a policy still names.
 */
export const up = `
CREATE TABLE named_locations (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  cidrs      TEXT NOT NULL,
  countries  TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (tenant_id, name)
) STRICT;

CREATE TABLE access_policies (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  state      TEXT NOT NULL CHECK (state IN ('on', 'off', 'report-only')),
  conditions TEXT NOT NULL,
  grant_spec TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (tenant_id, name)
) STRICT;
`;
