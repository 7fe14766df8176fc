/**
 * 006 — apps' own certificates and the ACME state (SQLite's 008): uploaded or ACME-issued certificates per app
 * (key sealed with the store's key ring; gone with the app), the ACME account key per directory (sealed), and the
 * TLS-ALPN-01 challenge certificates being answered (throwaway self-signed keys, so stored in clear).
 */
export const up = `
CREATE TABLE app_certificates (
  app_id     text PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
  tenant_id  text NOT NULL,
  host       text NOT NULL,
  source     text NOT NULL CHECK (source IN ('upload', 'acme')),
  cert_pem   text NOT NULL,
  key_sealed text NOT NULL,
  not_after  timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
CREATE TABLE acme_accounts (
  directory_url text PRIMARY KEY,
  key_sealed    text NOT NULL,
  created_at    timestamptz NOT NULL
);
CREATE TABLE acme_challenges (
  host       text PRIMARY KEY,
  cert_pem   text NOT NULL,
  key_pem    text NOT NULL,
  created_at timestamptz NOT NULL
);
`;
