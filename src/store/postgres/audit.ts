import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import { AUDIT_PAGE } from '../rules.ts';
import type { AuditEvent, Store } from '../types.ts';
import { type Ctx, type Row, all, guard, now, one, params, cells } from './db.ts';
import { auditFromRow } from '../rows.ts';

const toEvent = (r: Row): AuditEvent => auditFromRow(r, cells);

/** The cursor is the sequence number of the last event of the previous page, opaque to callers (as in SQLite). */
function encodeCursor(seq: string): string {
  return Buffer.from(`a1:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const match = /^a1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new DrawbridgeError('DB-ADMIN-INVALID', 'cursor: not a cursor returned by this API');
  return match[1];
}

export function auditRepo(ctx: Ctx): Store['audit'] {
  const { pool } = ctx;
  return {
    async append(event) {
      const row = await guard(
        'audit event',
        one(
          pool,
          'INSERT INTO audit_events (id, tenant_id, time, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *',
          [
            newId('aud'),
            event.tenantId,
            event.time ?? now(),
            event.actor,
            event.action,
            event.target ?? null,
            JSON.stringify(event.detail ?? {}),
          ],
        ),
      );
      return toEvent(row as Row);
    },
    /** Newest first. `action` matches exactly, or as a prefix when it ends in `.` or `*` (`app.` → every app event). */
    async list(tenantId, filter = {}) {
      const limit = Math.min(Math.max(Math.trunc(filter.limit ?? AUDIT_PAGE.default), 1), AUDIT_PAGE.max);
      const { values, p } = params();
      const where = [`tenant_id = ${p(tenantId)}`];
      if (filter.action) {
        if (filter.action.endsWith('*') || filter.action.endsWith('.'))
          where.push(`starts_with(action, ${p(filter.action.replace(/\*$/, ''))})`);
        else where.push(`action = ${p(filter.action)}`);
      }
      if (filter.target) where.push(`target = ${p(filter.target)}`);
      if (filter.since) where.push(`time >= ${p(filter.since)}`);
      if (filter.cursor) where.push(`seq < ${p(decodeCursor(filter.cursor))}`);
      const rows = await guard(
        'audit filter',
        all(
          pool,
          `SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ${p(limit + 1)}`,
          values,
        ),
      );
      const page = rows.slice(0, limit);
      const next = rows.length > limit ? encodeCursor(String(page[page.length - 1].seq)) : null;
      return { items: page.map(toEvent), next };
    },
  };
}
