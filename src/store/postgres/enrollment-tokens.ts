import { timingSafeEqual } from 'node:crypto';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { EnrollmentToken, Store } from '../types.ts';
import { type Ctx, type Row, all, guard, notFound, one, tx, cells } from './db.ts';
import { tokenFromRow } from '../rows.ts';
import {
  checkTtlSeconds,
  formatEnrollmentToken,
  hashSecret,
  newEnrollmentSecret,
  parseEnrollmentToken,
} from '../rules.ts';

const toToken = (r: Row): EnrollmentToken => tokenFromRow(r, cells);

const invalid = (): DrawbridgeError => new DrawbridgeError('DB-ENROLL-TOKEN-INVALID');

export function enrollmentTokensRepo(ctx: Ctx): Store['enrollmentTokens'] {
  const { pool } = ctx;
  return {
    async create(tenantId, groupId, ttlSeconds) {
      checkTtlSeconds(ttlSeconds);
      const id = newId('enr');
      const secret = newEnrollmentSecret();
      const created = new Date();
      const expiresAt = new Date(created.getTime() + ttlSeconds * 1000).toISOString();
      const row = await guard(
        'enrollment token',
        tx(ctx, async (c) => {
          if (!(await one(c, 'SELECT 1 FROM connector_groups WHERE tenant_id = $1 AND id = $2', [tenantId, groupId])))
            throw notFound('connector group', groupId);
          return (await one(
            c,
            'INSERT INTO enrollment_tokens (id, tenant_id, group_id, secret_hash, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
            [id, tenantId, groupId, hashSecret(secret), expiresAt, created.toISOString()],
          )) as Row;
        }),
      );
      return { token: formatEnrollmentToken(id, secret), row: toToken(row) };
    },
    async consume(token, connectorId, at) {
      const parsed = parseEnrollmentToken(token);
      if (!parsed) throw invalid();
      const hash = hashSecret(parsed.secret);
      const stored = await one(pool, 'SELECT secret_hash FROM enrollment_tokens WHERE id = $1', [parsed.id]);
      const storedHash = stored?.secret_hash as Buffer | undefined;
      if (!storedHash || storedHash.length !== hash.length || !timingSafeEqual(storedHash, hash)) throw invalid();
      // The one atomic step: only a row still unused and unexpired at `at` flips. A racing UPDATE waits for the row
      // lock, then re-checks `used_at IS NULL` against the committed row and matches nothing: exactly one winner.
      const when = at.toISOString();
      const row = await one(
        pool,
        'UPDATE enrollment_tokens SET used_at = $1, connector_id = $2 WHERE id = $3 AND secret_hash = $4 AND used_at IS NULL AND expires_at > $1 RETURNING *',
        [when, connectorId, parsed.id, hash],
      );
      if (!row) throw invalid();
      return toToken(row);
    },
    async list(tenantId) {
      return (
        await all(pool, 'SELECT * FROM enrollment_tokens WHERE tenant_id = $1 ORDER BY created_at DESC, id', [tenantId])
      ).map(toToken);
    },
  };
}
