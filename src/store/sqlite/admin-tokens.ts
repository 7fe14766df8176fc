import { timingSafeEqual } from 'node:crypto';
import { newId } from '../ids.ts';
import {
  type AdminTokenRepo,
  adminTokenFromRow,
  checkNewAdminToken,
  formatAdminToken,
  newAdminSecret,
  parseAdminToken,
} from '../admin-tokens.ts';
import { hashSecret } from '../rules.ts';
import { type Ctx, type Row, cells, notFound } from './db.ts';

const toToken = (r: Row) => adminTokenFromRow(r, cells);

export function adminTokensRepo(ctx: Ctx): AdminTokenRepo {
  const { db } = ctx;
  const tenantExists = db.prepare('SELECT 1 FROM tenants WHERE tenant_id = ?');
  const insert = db.prepare(
    `INSERT INTO admin_tokens (id, tenant_id, administrator, role, app_ids, secret_hash, expires_at, created_at, created_by)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
  );
  const byId = db.prepare('SELECT * FROM admin_tokens WHERE id = ?');
  const everyToken = db.prepare('SELECT * FROM admin_tokens ORDER BY created_at DESC, id');
  const ofTenant = db.prepare('SELECT * FROM admin_tokens WHERE tenant_id = ? ORDER BY created_at DESC, id');
  const revoke = db.prepare('UPDATE admin_tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? RETURNING *');

  return {
    async create(input) {
      checkNewAdminToken(input);
      if (input.tenantId !== null && !tenantExists.get(input.tenantId)) throw notFound('tenant', input.tenantId);
      const id = newId('atk');
      const secret = newAdminSecret();
      const row = insert.get(
        id,
        input.tenantId,
        input.administrator,
        input.role,
        JSON.stringify(input.appIds ?? []),
        hashSecret(secret),
        new Date(input.expiresAt).toISOString(),
        new Date().toISOString(),
        input.createdBy,
      ) as Row;
      return { token: formatAdminToken(id, secret), row: toToken(row) };
    },
    async verify(token) {
      const parsed = parseAdminToken(token);
      if (!parsed) return null;
      const row = byId.get(parsed.id) as Row | undefined;
      const hash = hashSecret(parsed.secret);
      const stored = row?.secret_hash as Uint8Array | undefined;
      if (!row || !stored || stored.length !== hash.length || !timingSafeEqual(stored, hash)) return null;
      return toToken(row);
    },
    async get(id) {
      const row = byId.get(id) as Row | undefined;
      return row ? toToken(row) : null;
    },
    async list(tenantId) {
      return ((tenantId === undefined ? everyToken.all() : ofTenant.all(tenantId)) as Row[]).map(toToken);
    },
    async revoke(id, at) {
      const row = revoke.get(at.toISOString(), id) as Row | undefined;
      if (!row) throw notFound('admin token', id);
      return toToken(row);
    },
  };
}
