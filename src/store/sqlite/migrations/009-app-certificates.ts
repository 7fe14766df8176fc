/**
 * 008 — apps' own certificates and the ACME state (PostgreSQL's 006): uploaded or ACME-issued certificates per app
 * (key sealed with the store's key ring; gone with the app), the ACME account key per directory (sealed), and the
 * TLS-ALPN-01 challenge certificates being answered (throwaway self-signed keys, so stored in clear).
 */
export const up = `
CREATE TABLE app_certificates (
  app_id     TEXT PRIMARY KEY REFERENCES apps (id) ON DELETE CASCADE,
  tenant_id  TEXT NOT NULL,
  host       TEXT NOT NULL,
  source     TEXT NOT NULL CHECK (source IN ('upload', 'acme')),
  cert_pem   TEXT NOT NULL,
  key_sealed TEXT NOT NULL,
  not_after  TEXT NOT NULL,
  updated_at TEXT NOT NULL
) STRICT;
CREATE TABLE acme_accounts (
  directory_url TEXT PRIMARY KEY,
  key_sealed    TEXT NOT NULL,
  created_at    TEXT NOT NULL
) STRICT;
CREATE TABLE acme_challenges (
  host       TEXT PRIMARY KEY,
  cert_pem   TEXT NOT NULL,
  key_pem    TEXT NOT NULL,
  created_at TEXT NOT NULL
) STRICT;
`;
