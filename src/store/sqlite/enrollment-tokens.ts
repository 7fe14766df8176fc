import { timingSafeEqual } from 'node:crypto';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { EnrollmentToken, Store } from '../types.ts';
import {
  checkTtlSeconds,
  formatEnrollmentToken,
  hashSecret,
  newEnrollmentSecret,
  parseEnrollmentToken,
} from '../rules.ts';
import { type Ctx, type Row, notFound, tx, cells } from './db.ts';
import { tokenFromRow } from '../rows.ts';

const toToken = (r: Row): EnrollmentToken => tokenFromRow(r, cells);

const invalid = (): DrawbridgeError => new DrawbridgeError('DB-ENROLL-TOKEN-INVALID');

export function enrollmentTokensRepo(ctx: Ctx): Store['enrollmentTokens'] {
  const { db } = ctx;
  const groupExists = db.prepare('SELECT 1 FROM connector_groups WHERE tenant_id = ? AND id = ?');
  const insert = db.prepare(
    'INSERT INTO enrollment_tokens (id, tenant_id, group_id, secret_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *',
  );
  const hashById = db.prepare('SELECT secret_hash FROM enrollment_tokens WHERE id = ?');
  // The one atomic step: only a row still unused and unexpired at `now` flips, so two racing connectors cannot both win.
  const use = db.prepare(
    'UPDATE enrollment_tokens SET used_at = ?, connector_id = ? WHERE id = ? AND secret_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING *',
  );
  const all = db.prepare('SELECT * FROM enrollment_tokens WHERE tenant_id = ? ORDER BY created_at DESC, id');

  return {
    async create(tenantId, groupId, ttlSeconds) {
      checkTtlSeconds(ttlSeconds);
      const id = newId('enr');
      const secret = newEnrollmentSecret();
      const created = new Date();
      const row = tx(db, () => {
        if (!groupExists.get(tenantId, groupId)) throw notFound('connector group', groupId);
        const expiresAt = new Date(created.getTime() + ttlSeconds * 1000).toISOString();
        return insert.get(id, tenantId, groupId, hashSecret(secret), expiresAt, created.toISOString()) as Row;
      });
      return { token: formatEnrollmentToken(id, secret), row: toToken(row) };
    },
    async consume(token, connectorId, at) {
      const parsed = parseEnrollmentToken(token);
      if (!parsed) throw invalid();
      const { id, secret } = parsed;
      const hash = hashSecret(secret);
      const stored = hashById.get(id) as { secret_hash: Uint8Array } | undefined;
      if (!stored || stored.secret_hash.length !== hash.length || !timingSafeEqual(stored.secret_hash, hash))
        throw invalid();
      const when = at.toISOString();
      const row = use.get(when, connectorId, id, hash, when) as Row | undefined;
      if (!row) throw invalid();
      return toToken(row);
    },
    async list(tenantId) {
      return (all.all(tenantId) as Row[]).map(toToken);
    },
  };
}
