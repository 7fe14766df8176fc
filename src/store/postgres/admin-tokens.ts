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
import { type Ctx, type Row, all, cells, notFound, one } from './db.ts';

const toToken = (r: Row) => adminTokenFromRow(r, cells);

export function adminTokensRepo(ctx: Ctx): AdminTokenRepo {
  const { pool } = ctx;
  return {
    async create(input) {
      checkNewAdminToken(input);
      if (input.tenantId !== null && !(await one(pool, 'SELECT 1 FROM tenants WHERE tenant_id = $1', [input.tenantId])))
        throw notFound('tenant', input.tenantId);
      const id = newId('atk');
      const secret = newAdminSecret();
      const row = await one(
        pool,
        `INSERT INTO admin_tokens (id, tenant_id, administrator, role, app_ids, secret_hash, expires_at, created_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          id,
          input.tenantId,
          input.administrator,
          input.role,
          JSON.stringify(input.appIds ?? []),
          hashSecret(secret),
          new Date(input.expiresAt).toISOString(),
          new Date().toISOString(),
          input.createdBy,
        ],
      );
      return { token: formatAdminToken(id, secret), row: toToken(row as Row) };
    },
    async verify(token) {
      const parsed = parseAdminToken(token);
      if (!parsed) return null;
      const row = await one(pool, 'SELECT * FROM admin_tokens WHERE id = $1', [parsed.id]);
      const hash = hashSecret(parsed.secret);
      const stored = row?.secret_hash as Buffer | undefined;
      if (!row || !stored || stored.length !== hash.length || !timingSafeEqual(stored, hash)) return null;
      return toToken(row);
    },
    async get(id) {
      const row = await one(pool, 'SELECT * FROM admin_tokens WHERE id = $1', [id]);
      return row ? toToken(row) : null;
    },
    async list(tenantId) {
      const rows =
        tenantId === undefined
          ? await all(pool, 'SELECT * FROM admin_tokens ORDER BY created_at DESC, id')
          : await all(pool, 'SELECT * FROM admin_tokens WHERE tenant_id = $1 ORDER BY created_at DESC, id', [tenantId]);
      return rows.map(toToken);
    },
    async revoke(id, at) {
      const row = await one(
        pool,
        'UPDATE admin_tokens SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING *',
        [at.toISOString(), id],
      );
      if (!row) throw notFound('admin token', id);
      return toToken(row);
    },
  };
}
