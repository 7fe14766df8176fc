/** MFA credentials and identity settings. TOTP secrets and the OIDC client secret are sealed (AES-256-GCM) at rest. */
import type { DatabaseSync } from 'node:sqlite';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { open, seal, type KeyRing } from '../../identity/keys.ts';
import type { DirectoryStore, IdentitySettings, OidcSettings, WebAuthnCredential } from '../directory-types.ts';
import { bool, now, str, strOrNull, tx, type Row } from './db.ts';
import { newDirectoryId } from './directory-ids.ts';

export const DEFAULT_IDLE_SECONDS = 8 * 3600;
export const DEFAULT_ABSOLUTE_SECONDS = 24 * 3600;

function toCredential(r: Row): WebAuthnCredential {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    userId: str(r.user_id),
    credentialId: str(r.credential_id),
    publicKey: str(r.public_key),
    counter: Number(r.counter),
    transports: JSON.parse(str(r.transports)) as string[],
    name: str(r.name),
    createdAt: str(r.created_at),
    lastUsedAt: strOrNull(r.last_used_at),
  };
}

export function createMfaRepo(db: DatabaseSync, keys: KeyRing): DirectoryStore['mfa'] {
  const aad = (tenantId: string, userId: string) => `totp:${tenantId}:${userId}`;
  const mfa: DirectoryStore['mfa'] = {
    async getTotp(tenantId, userId) {
      const r = db.prepare('SELECT * FROM dir_totp WHERE tenant_id = ? AND user_id = ?').get(tenantId, userId) as Row | undefined;
      if (!r) return null;
      return {
        secret: open(keys.key('totp'), str(r.secret_sealed), aad(tenantId, userId)),
        confirmed: bool(r.confirmed),
        lastStep: r.last_step === null ? null : Number(r.last_step),
        createdAt: str(r.created_at),
      };
    },
    async setTotp(tenantId, userId, secret, confirmed = false) {
      const sealed = seal(keys.key('totp'), secret, aad(tenantId, userId));
      db.prepare(
        `INSERT INTO dir_totp (tenant_id, user_id, secret_sealed, confirmed, last_step, created_at) VALUES (?, ?, ?, ?, NULL, ?)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, confirmed = excluded.confirmed, last_step = NULL, created_at = excluded.created_at`,
      ).run(tenantId, userId, sealed, confirmed ? 1 : 0, now());
    },
    async confirmTotp(tenantId, userId, step) {
      db.prepare('UPDATE dir_totp SET confirmed = 1, last_step = ? WHERE tenant_id = ? AND user_id = ?').run(step, tenantId, userId);
    },
    async useTotpStep(tenantId, userId, step) {
      const result = db
        .prepare('UPDATE dir_totp SET last_step = ? WHERE tenant_id = ? AND user_id = ? AND (last_step IS NULL OR last_step < ?)')
        .run(step, tenantId, userId, step);
      return result.changes === 1;
    },
    async reset(tenantId, userId) {
      tx(db, () => {
        db.prepare('DELETE FROM dir_totp WHERE tenant_id = ? AND user_id = ?').run(tenantId, userId);
        db.prepare('DELETE FROM dir_recovery_codes WHERE tenant_id = ? AND user_id = ?').run(tenantId, userId);
        db.prepare('DELETE FROM dir_webauthn_credentials WHERE tenant_id = ? AND user_id = ?').run(tenantId, userId);
      });
    },
    async setRecoveryCodes(tenantId, userId, hashes) {
      tx(db, () => {
        db.prepare('DELETE FROM dir_recovery_codes WHERE tenant_id = ? AND user_id = ?').run(tenantId, userId);
        const insert = db.prepare('INSERT OR IGNORE INTO dir_recovery_codes (tenant_id, user_id, code_hash) VALUES (?, ?, ?)');
        for (const h of hashes) insert.run(tenantId, userId, h);
      });
    },
    async useRecoveryCode(tenantId, userId, hash) {
      const result = db
        .prepare('UPDATE dir_recovery_codes SET used_at = ? WHERE tenant_id = ? AND user_id = ? AND code_hash = ? AND used_at IS NULL')
        .run(now(), tenantId, userId, hash);
      return result.changes === 1;
    },
    async recoveryCodesLeft(tenantId, userId) {
      const r = db.prepare('SELECT count(*) AS n FROM dir_recovery_codes WHERE tenant_id = ? AND user_id = ? AND used_at IS NULL').get(tenantId, userId) as Row;
      return Number(r.n);
    },
    async webauthnList(tenantId, userId) {
      return (db.prepare('SELECT * FROM dir_webauthn_credentials WHERE tenant_id = ? AND user_id = ? ORDER BY created_at').all(tenantId, userId) as Row[]).map(toCredential);
    },
    async webauthnFind(tenantId, credentialId) {
      const r = db.prepare('SELECT * FROM dir_webauthn_credentials WHERE tenant_id = ? AND credential_id = ?').get(tenantId, credentialId) as Row | undefined;
      return r ? toCredential(r) : null;
    },
    async webauthnAdd(tenantId, userId, cred) {
      const id = newDirectoryId('wac');
      db.prepare(
        'INSERT INTO dir_webauthn_credentials (id, tenant_id, user_id, credential_id, public_key, counter, transports, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(id, tenantId, userId, cred.credentialId, cred.publicKey, cred.counter, JSON.stringify(cred.transports), cred.name, now());
      return toCredential(db.prepare('SELECT * FROM dir_webauthn_credentials WHERE id = ?').get(id) as Row);
    },
    async webauthnUse(tenantId, credentialId, counter) {
      db.prepare('UPDATE dir_webauthn_credentials SET counter = ?, last_used_at = ? WHERE tenant_id = ? AND credential_id = ?').run(counter, now(), tenantId, credentialId);
    },
    async webauthnDelete(tenantId, userId, id) {
      db.prepare('DELETE FROM dir_webauthn_credentials WHERE tenant_id = ? AND user_id = ? AND id = ?').run(tenantId, userId, id);
    },
    async methods(tenantId, userId) {
      const totp = db.prepare('SELECT confirmed FROM dir_totp WHERE tenant_id = ? AND user_id = ?').get(tenantId, userId) as Row | undefined;
      const webauthn = db.prepare('SELECT 1 FROM dir_webauthn_credentials WHERE tenant_id = ? AND user_id = ? LIMIT 1').get(tenantId, userId);
      return { totp: totp ? bool(totp.confirmed) : false, webauthn: webauthn !== undefined, recoveryCodes: await mfa.recoveryCodesLeft(tenantId, userId) };
    },
  };
  return mfa;
}

function checkOidc(oidc: OidcSettings): OidcSettings {
  let issuer: URL;
  try {
    issuer = new URL(oidc.issuer);
  } catch {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'oidc.issuer must be a URL');
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
  if (issuer.protocol !== 'https:' && !(loopback && oidc.allowInsecureLoopback)) throw new DrawbridgeError('DB-ADMIN-INVALID', 'oidc.issuer must be https');
  if (!oidc.clientId) throw new DrawbridgeError('DB-ADMIN-INVALID', 'oidc.clientId is required');
  return {
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    clientSecret: oidc.clientSecret ?? null,
    displayName: oidc.displayName || 'your organisation',
    scopes: oidc.scopes?.length ? oidc.scopes : ['openid', 'profile', 'email'],
    usernameClaim: oidc.usernameClaim || 'preferred_username',
    groupsClaim: oidc.groupsClaim || 'groups',
    autoCreateUsers: oidc.autoCreateUsers ?? true,
    allowInsecureLoopback: oidc.allowInsecureLoopback ?? false,
  };
}

export function createSettingsRepo(db: DatabaseSync, keys: KeyRing): DirectoryStore['settings'] {
  const aad = (tenantId: string) => `oidc:${tenantId}`;
  const get = async (tenantId: string): Promise<IdentitySettings> => {
    const r = db.prepare('SELECT * FROM dir_identity_settings WHERE tenant_id = ?').get(tenantId) as Row | undefined;
    if (!r) {
      return { tenantId, requireMfa: false, sessionIdleSeconds: DEFAULT_IDLE_SECONDS, sessionAbsoluteSeconds: DEFAULT_ABSOLUTE_SECONDS, allowPersistentSessions: false, oidc: null };
    }
    return {
      tenantId,
      requireMfa: bool(r.require_mfa),
      sessionIdleSeconds: Number(r.session_idle),
      sessionAbsoluteSeconds: Number(r.session_absolute),
      allowPersistentSessions: bool(r.allow_persistent),
      oidc: r.oidc_sealed === null ? null : (JSON.parse(open(keys.key('totp'), str(r.oidc_sealed), aad(tenantId))) as OidcSettings),
    };
  };
  return {
    get,
    async update(tenantId, patch) {
      const merged = { ...(await get(tenantId)), ...patch, tenantId };
      if (!Number.isInteger(merged.sessionIdleSeconds) || merged.sessionIdleSeconds < 60) throw new DrawbridgeError('DB-ADMIN-INVALID', 'sessionIdleSeconds must be ≥ 60');
      if (!Number.isInteger(merged.sessionAbsoluteSeconds) || merged.sessionAbsoluteSeconds < merged.sessionIdleSeconds) {
        throw new DrawbridgeError('DB-ADMIN-INVALID', 'sessionAbsoluteSeconds must be ≥ sessionIdleSeconds');
      }
      const oidc = merged.oidc ? checkOidc(merged.oidc) : null;
      db.prepare(
        `INSERT INTO dir_identity_settings (tenant_id, require_mfa, session_idle, session_absolute, allow_persistent, oidc_sealed, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id) DO UPDATE SET require_mfa = excluded.require_mfa, session_idle = excluded.session_idle, session_absolute = excluded.session_absolute,
         allow_persistent = excluded.allow_persistent, oidc_sealed = excluded.oidc_sealed, updated_at = excluded.updated_at`,
      ).run(
        tenantId,
        merged.requireMfa ? 1 : 0,
        merged.sessionIdleSeconds,
        merged.sessionAbsoluteSeconds,
        merged.allowPersistentSessions ? 1 : 0,
        oidc ? seal(keys.key('totp'), JSON.stringify(oidc), aad(tenantId)) : null,
        now(),
      );
      return get(tenantId);
    },
  };
}
