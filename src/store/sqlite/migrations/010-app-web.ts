/**
 * 008 — an app's web settings (issue 14, store/app-web.ts) as JSON text: HSTS (null: off), link translation
 * (headers on, bodies off: what the edge did before, plus the tenant's other apps) and the session cookie (persistent
 * when the user chose to stay signed in, no lifetime cap, SameSite=Lax: as before).
 */
export const up = `
ALTER TABLE apps ADD COLUMN hsts TEXT;
ALTER TABLE apps ADD COLUMN link_translation TEXT NOT NULL DEFAULT '{"headers":true,"body":false}';
ALTER TABLE apps ADD COLUMN session_cookie TEXT NOT NULL DEFAULT '{"persistent":"user","lifetimeSeconds":null,"sameSite":"Lax"}';
`;
