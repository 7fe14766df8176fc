/**
 * 005 — conditional access (SQLite's 007): named locations and policies per tenant; conditions and grant are jsonb
 * documents checked by store/policy-rules.ts before any write.
 */
export const up = `
CREATE TABLE named_locations (
  id         text PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  name       text NOT NULL,
  cidrs      jsonb NOT NULL,
  countries  jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (tenant_id, name)
);

CREATE TABLE access_policies (
  id         text PRIMARY KEY,
  tenant_id  text NOT NULL REFERENCES tenants(tenant_id) ON DELETE CASCADE,
  name       text NOT NULL,
  state      text NOT NULL CHECK (state IN ('on', 'off', 'report-only')),
  conditions jsonb NOT NULL,
  grant_spec jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (tenant_id, name)
);
`;
