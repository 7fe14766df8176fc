/** MFA credentials and identity settings. TOTP secrets and the OIDC client secret are sealed (AES-256-GCM) at rest. */
import type { DatabaseSync } from 'node:sqlite';
import { open, seal, type KeyRing } from '../../identity/keys.ts';
import type {
  DirectoryStore,
  IdentitySettings,
  OidcProvider,
  OidcProviderInput,
  WebAuthnCredential,
} from '../directory-types.ts';
import {
  asOidcSettings,
  checkProvider,
  DEFAULT_PROVIDER_ID,
  legacyExtras,
  providerFromSealed,
  providerSealedFor,
} from '../identity-providers.ts';
import { newDirectoryId } from '../directory-ids.ts';
import { identitySettingsFromRow, totpFromRow, webauthnFromRow } from '../rows.ts';
import { defaultIdentitySettings, mergeIdentitySettings, sealedFor } from '../rules.ts';
import { bool, cells, guard, notFound, now, tx, type Row } from './db.ts';

const toCredential = (r: Row): WebAuthnCredential => webauthnFromRow(r, cells);

export function createMfaRepo(db: DatabaseSync, keys: KeyRing): DirectoryStore['mfa'] {
  /** Credentials are only ever written for a user of the same tenant (the foreign key would refuse it less clearly). */
  const requireUser = (tenantId: string, userId: string): void => {
    if (!db.prepare('SELECT 1 FROM dir_users WHERE tenant_id = ? AND id = ?').get(tenantId, userId))
      throw notFound('user', userId);
  };
  const mfa: DirectoryStore['mfa'] = {
    async getTotp(tenantId, userId) {
      const r = db.prepare('SELECT * FROM dir_totp WHERE tenant_id = ? AND user_id = ?').get(tenantId, userId) as
        | Row
        | undefined;
      if (!r) return null;
      const { sealed, ...totp } = totpFromRow(r, cells);
      return { secret: open(keys.key('totp'), sealed, sealedFor.totp(tenantId, userId)), ...totp };
    },
    async setTotp(tenantId, userId, secret, confirmed = false) {
      requireUser(tenantId, userId);
      const sealed = seal(keys.key('totp'), secret, sealedFor.totp(tenantId, userId));
      db.prepare(
        `INSERT INTO dir_totp (tenant_id, user_id, secret_sealed, confirmed, last_step, created_at) VALUES (?, ?, ?, ?, NULL, ?)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, confirmed = excluded.confirmed, last_step = NULL, created_at = excluded.created_at`,
      ).run(tenantId, userId, sealed, confirmed ? 1 : 0, now());
    },
    async confirmTotp(tenantId, userId, step) {
      db.prepare('UPDATE dir_totp SET confirmed = 1, last_step = ? WHERE tenant_id = ? AND user_id = ?').run(
        step,
        tenantId,
        userId,
      );
    },
    async useTotpStep(tenantId, userId, step) {
      const result = db
        .prepare(
          'UPDATE dir_totp SET last_step = ? WHERE tenant_id = ? AND user_id = ? AND (last_step IS NULL OR last_step < ?)',
        )
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
        requireUser(tenantId, userId);
        db.prepare('DELETE FROM dir_recovery_codes WHERE tenant_id = ? AND user_id = ?').run(tenantId, userId);
        const insert = db.prepare(
          'INSERT OR IGNORE INTO dir_recovery_codes (tenant_id, user_id, code_hash) VALUES (?, ?, ?)',
        );
        for (const h of hashes) insert.run(tenantId, userId, h);
      });
    },
    async useRecoveryCode(tenantId, userId, hash) {
      const result = db
        .prepare(
          'UPDATE dir_recovery_codes SET used_at = ? WHERE tenant_id = ? AND user_id = ? AND code_hash = ? AND used_at IS NULL',
        )
        .run(now(), tenantId, userId, hash);
      return result.changes === 1;
    },
    async recoveryCodesLeft(tenantId, userId) {
      const r = db
        .prepare('SELECT count(*) AS n FROM dir_recovery_codes WHERE tenant_id = ? AND user_id = ? AND used_at IS NULL')
        .get(tenantId, userId) as Row;
      return Number(r.n);
    },
    async webauthnList(tenantId, userId) {
      return (
        db
          .prepare('SELECT * FROM dir_webauthn_credentials WHERE tenant_id = ? AND user_id = ? ORDER BY created_at')
          .all(tenantId, userId) as Row[]
      ).map(toCredential);
    },
    async webauthnFind(tenantId, credentialId) {
      const r = db
        .prepare('SELECT * FROM dir_webauthn_credentials WHERE tenant_id = ? AND credential_id = ?')
        .get(tenantId, credentialId) as Row | undefined;
      return r ? toCredential(r) : null;
    },
    async webauthnAdd(tenantId, userId, cred) {
      requireUser(tenantId, userId);
      const id = newDirectoryId('wac');
      guard('passkey', () =>
        db
          .prepare(
            'INSERT INTO dir_webauthn_credentials (id, tenant_id, user_id, credential_id, public_key, counter, transports, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          )
          .run(
            id,
            tenantId,
            userId,
            cred.credentialId,
            cred.publicKey,
            cred.counter,
            JSON.stringify(cred.transports),
            cred.name,
            now(),
          ),
      );
      return toCredential(db.prepare('SELECT * FROM dir_webauthn_credentials WHERE id = ?').get(id) as Row);
    },
    async webauthnUse(tenantId, credentialId, counter) {
      db.prepare(
        'UPDATE dir_webauthn_credentials SET counter = ?, last_used_at = ? WHERE tenant_id = ? AND credential_id = ?',
      ).run(counter, now(), tenantId, credentialId);
    },
    async webauthnDelete(tenantId, userId, id) {
      db.prepare('DELETE FROM dir_webauthn_credentials WHERE tenant_id = ? AND user_id = ? AND id = ?').run(
        tenantId,
        userId,
        id,
      );
    },
    async methods(tenantId, userId) {
      const totp = db
        .prepare('SELECT confirmed FROM dir_totp WHERE tenant_id = ? AND user_id = ?')
        .get(tenantId, userId) as Row | undefined;
      const webauthn = db
        .prepare('SELECT 1 FROM dir_webauthn_credentials WHERE tenant_id = ? AND user_id = ? LIMIT 1')
        .get(tenantId, userId);
      return {
        totp: totp ? bool(totp.confirmed) : false,
        webauthn: webauthn !== undefined,
        recoveryCodes: await mfa.recoveryCodesLeft(tenantId, userId),
      };
    },
  };
  return mfa;
}

export function createSettingsRepo(db: DatabaseSync, keys: KeyRing): DirectoryStore['settings'] {
  const providers = (tenantId: string): OidcProvider[] =>
    (
      db
        .prepare(
          'SELECT id, config_sealed FROM dir_identity_providers WHERE tenant_id = ? ORDER BY position, created_at, id',
        )
        .all(tenantId) as Row[]
    ).map((r) =>
      providerFromSealed(
        r.id as string,
        open(keys.key('totp'), r.config_sealed as string, providerSealedFor(tenantId, r.id as string)),
      ),
    );
  const putProvider = (tenantId: string, input: OidcProviderInput): OidcProvider => {
    const provider = checkProvider(input, providers(tenantId));
    const sealed = seal(keys.key('totp'), JSON.stringify(provider), providerSealedFor(tenantId, provider.id));
    const t = now();
    guard('identity provider', () =>
      db
        .prepare(
          `INSERT INTO dir_identity_providers (tenant_id, id, position, config_sealed, created_at, updated_at)
         VALUES (?, ?, (SELECT coalesce(max(position), -1) + 1 FROM dir_identity_providers WHERE tenant_id = ?), ?, ?, ?)
         ON CONFLICT (tenant_id, id) DO UPDATE SET config_sealed = excluded.config_sealed, updated_at = excluded.updated_at`,
        )
        .run(tenantId, provider.id, tenantId, sealed, t, t),
    );
    return providers(tenantId).find((p) => p.id === provider.id)!;
  };
  const deleteProvider = (tenantId: string, id: string): boolean =>
    db.prepare('DELETE FROM dir_identity_providers WHERE tenant_id = ? AND id = ?').run(tenantId, id).changes === 1;
  const get = async (tenantId: string): Promise<IdentitySettings> => {
    const r = db.prepare('SELECT * FROM dir_identity_settings WHERE tenant_id = ?').get(tenantId) as Row | undefined;
    const legacy = providers(tenantId).find((p) => p.id === DEFAULT_PROVIDER_ID);
    const oidc = legacy ? asOidcSettings(legacy) : null;
    return r ? identitySettingsFromRow(tenantId, r, cells, oidc) : { ...defaultIdentitySettings(tenantId), oidc };
  };
  return {
    get,
    async update(tenantId, patch) {
      const merged = mergeIdentitySettings(await get(tenantId), patch);
      tx(db, () => {
        db.prepare(
          `INSERT INTO dir_identity_settings (tenant_id, require_mfa, session_idle, session_absolute, allow_persistent, oidc_sealed, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?)
           ON CONFLICT (tenant_id) DO UPDATE SET require_mfa = excluded.require_mfa, session_idle = excluded.session_idle, session_absolute = excluded.session_absolute,
           allow_persistent = excluded.allow_persistent, oidc_sealed = NULL, updated_at = excluded.updated_at`,
        ).run(
          tenantId,
          merged.requireMfa ? 1 : 0,
          merged.sessionIdleSeconds,
          merged.sessionAbsoluteSeconds,
          merged.allowPersistentSessions ? 1 : 0,
          now(),
        );
        // The single provider of the settings is the list's `default`: its domains and button stay as the list set them.
        if (patch.oidc === null) deleteProvider(tenantId, DEFAULT_PROVIDER_ID);
        else if (patch.oidc && merged.oidc)
          putProvider(tenantId, { ...legacyExtras(providers(tenantId)), ...merged.oidc, id: DEFAULT_PROVIDER_ID });
      });
      return get(tenantId);
    },
    async providers(tenantId) {
      return providers(tenantId);
    },
    async putProvider(tenantId, input) {
      return tx(db, () => putProvider(tenantId, input));
    },
    async deleteProvider(tenantId, id) {
      return deleteProvider(tenantId, id);
    },
  };
}
