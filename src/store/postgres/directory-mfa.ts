/**
 * MFA credentials and identity settings on PostgreSQL. TOTP secrets and the OIDC client secret are sealed
 * (AES-256-GCM) with the store's key ring, shared by every node (keys.ts). A TOTP step and a recovery code are spent
 * by one conditional UPDATE, so two nodes racing with the same code have exactly one winner.
 */
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
import { type Ctx, type Queryable, type Row, all, cells, guard, notFound, now, one, str, tx } from './db.ts';

const toCredential = (r: Row): WebAuthnCredential => webauthnFromRow(r, cells);

/** Credentials are only ever written for a user of the same tenant (the foreign key would refuse it less clearly). */
async function requireUser(q: Queryable, tenantId: string, userId: string): Promise<void> {
  if (!(await one(q, 'SELECT 1 FROM dir_users WHERE tenant_id = $1 AND id = $2', [tenantId, userId])))
    throw notFound('user', userId);
}

export function createMfaRepo(ctx: Ctx, keys: KeyRing): DirectoryStore['mfa'] {
  const { pool } = ctx;
  const mfa: DirectoryStore['mfa'] = {
    async getTotp(tenantId, userId) {
      const r = await one(pool, 'SELECT * FROM dir_totp WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
      if (!r) return null;
      const { sealed, ...totp } = totpFromRow(r, cells);
      return { secret: open(keys.key('totp'), sealed, sealedFor.totp(tenantId, userId)), ...totp };
    },
    async setTotp(tenantId, userId, secret, confirmed = false) {
      await requireUser(pool, tenantId, userId);
      const sealed = seal(keys.key('totp'), secret, sealedFor.totp(tenantId, userId));
      await guard(
        'TOTP enrolment',
        pool.query(
          `INSERT INTO dir_totp (tenant_id, user_id, secret_sealed, confirmed, last_step, created_at) VALUES ($1, $2, $3, $4, NULL, $5)
         ON CONFLICT (tenant_id, user_id) DO UPDATE SET secret_sealed = excluded.secret_sealed, confirmed = excluded.confirmed, last_step = NULL, created_at = excluded.created_at`,
          [tenantId, userId, sealed, confirmed, now()],
        ),
      );
    },
    async confirmTotp(tenantId, userId, step) {
      await pool.query('UPDATE dir_totp SET confirmed = true, last_step = $3 WHERE tenant_id = $1 AND user_id = $2', [
        tenantId,
        userId,
        step,
      ]);
    },
    async useTotpStep(tenantId, userId, step) {
      const result = await pool.query(
        'UPDATE dir_totp SET last_step = $3 WHERE tenant_id = $1 AND user_id = $2 AND (last_step IS NULL OR last_step < $3)',
        [tenantId, userId, step],
      );
      return result.rowCount === 1;
    },
    async reset(tenantId, userId) {
      await tx(ctx, async (c) => {
        for (const table of ['dir_totp', 'dir_recovery_codes', 'dir_webauthn_credentials']) {
          await c.query(`DELETE FROM ${table} WHERE tenant_id = $1 AND user_id = $2`, [tenantId, userId]);
        }
      });
    },
    async setRecoveryCodes(tenantId, userId, hashes) {
      await tx(ctx, async (c) => {
        await requireUser(c, tenantId, userId);
        await c.query('DELETE FROM dir_recovery_codes WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId]);
        await c.query(
          'INSERT INTO dir_recovery_codes (tenant_id, user_id, code_hash) SELECT $1, $2, unnest($3::text[]) ON CONFLICT DO NOTHING',
          [tenantId, userId, hashes],
        );
      });
    },
    async useRecoveryCode(tenantId, userId, hash) {
      const result = await pool.query(
        'UPDATE dir_recovery_codes SET used_at = $4 WHERE tenant_id = $1 AND user_id = $2 AND code_hash = $3 AND used_at IS NULL',
        [tenantId, userId, hash, now()],
      );
      return result.rowCount === 1;
    },
    async recoveryCodesLeft(tenantId, userId) {
      const r = await one(
        pool,
        'SELECT count(*)::int AS n FROM dir_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL',
        [tenantId, userId],
      );
      return Number(r?.n ?? 0);
    },
    async webauthnList(tenantId, userId) {
      return (
        await all(
          pool,
          'SELECT * FROM dir_webauthn_credentials WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id',
          [tenantId, userId],
        )
      ).map(toCredential);
    },
    async webauthnFind(tenantId, credentialId) {
      const r = await one(pool, 'SELECT * FROM dir_webauthn_credentials WHERE tenant_id = $1 AND credential_id = $2', [
        tenantId,
        credentialId,
      ]);
      return r ? toCredential(r) : null;
    },
    async webauthnAdd(tenantId, userId, cred) {
      await requireUser(pool, tenantId, userId);
      const row = await guard(
        'passkey',
        one(
          pool,
          `INSERT INTO dir_webauthn_credentials (id, tenant_id, user_id, credential_id, public_key, counter, transports, name, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
          [
            newDirectoryId('wac'),
            tenantId,
            userId,
            cred.credentialId,
            cred.publicKey,
            cred.counter,
            JSON.stringify(cred.transports),
            cred.name,
            now(),
          ],
        ),
      );
      return toCredential(row as Row);
    },
    async webauthnUse(tenantId, credentialId, counter) {
      await pool.query(
        'UPDATE dir_webauthn_credentials SET counter = $3, last_used_at = $4 WHERE tenant_id = $1 AND credential_id = $2',
        [tenantId, credentialId, counter, now()],
      );
    },
    async webauthnDelete(tenantId, userId, id) {
      await pool.query('DELETE FROM dir_webauthn_credentials WHERE tenant_id = $1 AND user_id = $2 AND id = $3', [
        tenantId,
        userId,
        id,
      ]);
    },
    async methods(tenantId, userId) {
      const r = (await one(
        pool,
        `SELECT coalesce((SELECT confirmed FROM dir_totp WHERE tenant_id = $1 AND user_id = $2), false) AS totp,
                EXISTS (SELECT 1 FROM dir_webauthn_credentials WHERE tenant_id = $1 AND user_id = $2) AS webauthn,
                (SELECT count(*) FROM dir_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL)::int AS codes`,
        [tenantId, userId],
      )) as Row;
      return { totp: r.totp === true, webauthn: r.webauthn === true, recoveryCodes: Number(r.codes) };
    },
  };
  return mfa;
}

export function createSettingsRepo(ctx: Ctx, keys: KeyRing): DirectoryStore['settings'] {
  const { pool } = ctx;
  const providers = async (q: Queryable, tenantId: string): Promise<OidcProvider[]> =>
    (
      await all(
        q,
        'SELECT id, config_sealed FROM dir_identity_providers WHERE tenant_id = $1 ORDER BY position, created_at, id',
        [tenantId],
      )
    ).map((r) =>
      providerFromSealed(
        str(r.id),
        open(keys.key('totp'), str(r.config_sealed), providerSealedFor(tenantId, str(r.id))),
      ),
    );
  /** Inside a transaction: the tenant's row is locked so two writers cannot give one domain to two providers. */
  const putProvider = async (client: Queryable, tenantId: string, input: OidcProviderInput): Promise<OidcProvider> => {
    await client.query('SELECT 1 FROM tenants WHERE tenant_id = $1 FOR UPDATE', [tenantId]);
    const provider = checkProvider(input, await providers(client, tenantId));
    const sealed = seal(keys.key('totp'), JSON.stringify(provider), providerSealedFor(tenantId, provider.id));
    const t = now();
    await guard(
      'identity provider',
      client.query(
        `INSERT INTO dir_identity_providers (tenant_id, id, position, config_sealed, created_at, updated_at)
       VALUES ($1, $2, (SELECT coalesce(max(position), -1) + 1 FROM dir_identity_providers WHERE tenant_id = $1), $3, $4, $4)
       ON CONFLICT (tenant_id, id) DO UPDATE SET config_sealed = excluded.config_sealed, updated_at = excluded.updated_at`,
        [tenantId, provider.id, sealed, t],
      ),
    );
    return provider;
  };
  const deleteProvider = async (q: Queryable, tenantId: string, id: string): Promise<boolean> =>
    ((await q.query('DELETE FROM dir_identity_providers WHERE tenant_id = $1 AND id = $2', [tenantId, id])).rowCount ??
      0) === 1;
  const get = async (tenantId: string): Promise<IdentitySettings> => {
    const r = await one(pool, 'SELECT * FROM dir_identity_settings WHERE tenant_id = $1', [tenantId]);
    const legacy = (await providers(pool, tenantId)).find((p) => p.id === DEFAULT_PROVIDER_ID);
    const oidc = legacy ? asOidcSettings(legacy) : null;
    return r ? identitySettingsFromRow(tenantId, r, cells, oidc) : { ...defaultIdentitySettings(tenantId), oidc };
  };
  return {
    get,
    async update(tenantId, patch) {
      const merged = mergeIdentitySettings(await get(tenantId), patch);
      await tx(ctx, async (client) => {
        await guard(
          'identity settings',
          client.query(
            `INSERT INTO dir_identity_settings (tenant_id, require_mfa, session_idle, session_absolute, allow_persistent, oidc_sealed, updated_at) VALUES ($1, $2, $3, $4, $5, NULL, $6)
           ON CONFLICT (tenant_id) DO UPDATE SET require_mfa = excluded.require_mfa, session_idle = excluded.session_idle, session_absolute = excluded.session_absolute,
           allow_persistent = excluded.allow_persistent, oidc_sealed = NULL, updated_at = excluded.updated_at`,
            [
              tenantId,
              merged.requireMfa,
              merged.sessionIdleSeconds,
              merged.sessionAbsoluteSeconds,
              merged.allowPersistentSessions,
              now(),
            ],
          ),
        );
        // The single provider of the settings is the list's `default`: its domains and button stay as the list set them.
        if (patch.oidc === null) await deleteProvider(client, tenantId, DEFAULT_PROVIDER_ID);
        else if (patch.oidc && merged.oidc)
          await putProvider(client, tenantId, {
            ...legacyExtras(await providers(client, tenantId)),
            ...merged.oidc,
            id: DEFAULT_PROVIDER_ID,
          });
      });
      return get(tenantId);
    },
    providers: (tenantId) => providers(pool, tenantId),
    async putProvider(tenantId, input) {
      const id = await tx(ctx, async (client) => (await putProvider(client, tenantId, input)).id);
      return (await providers(pool, tenantId)).find((p) => p.id === id)!;
    },
    deleteProvider: (tenantId, id) => deleteProvider(pool, tenantId, id),
  };
}
