/** 006 — an app's web settings (SQLite's 008, store/app-web.ts): HSTS, link translation, the session cookie. */
export const up = `
ALTER TABLE apps ADD COLUMN hsts jsonb;
ALTER TABLE apps ADD COLUMN link_translation jsonb NOT NULL DEFAULT '{"headers":true,"body":false}';
ALTER TABLE apps ADD COLUMN session_cookie jsonb NOT NULL DEFAULT '{"persistent":"user","lifetimeSeconds":null,"sameSite":"Lax"}';
`;
