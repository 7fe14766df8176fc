/**
 * 003 — single sign-on to the backend, per app (docs/sso.md): `{"mode":"none"}`, `{"mode":"kerberos",…}` or
 * `{"mode":"headers",…}` as JSON text. Existing apps get `none`, which is what they did before.
 */
export const up = `
ALTER TABLE apps ADD COLUMN sso TEXT NOT NULL DEFAULT '{"mode":"none"}';
`;
