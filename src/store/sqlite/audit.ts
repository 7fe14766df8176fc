import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { AuditEvent, Store } from '../types.ts';
import { type Ctx, type Row, now, cells } from './db.ts';
import { auditFromRow } from '../rows.ts';

import { AUDIT_PAGE } from '../rules.ts';

export { AUDIT_PAGE };

const toEvent = (r: Row): AuditEvent => auditFromRow(r, cells);

/** The cursor is the sequence number of the last event of the previous page, opaque to callers. */
function encodeCursor(seq: number): string {
  return Buffer.from(`a1:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): number {
  const match = /^a1:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new DrawbridgeError('DB-ADMIN-INVALID', 'cursor: not a cursor returned by this API');
  return Number(match[1]);
}

export function auditRepo(ctx: Ctx): Store['audit'] {
  const { db } = ctx;
  const insert = db.prepare(
    'INSERT INTO audit_events (id, tenant_id, time, actor, action, target, detail) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *',
  );

  return {
    async append(event) {
      const row = insert.get(
        newId('aud'),
        event.tenantId,
        event.time ?? now(),
        event.actor,
        event.action,
        event.target ?? null,
        JSON.stringify(event.detail ?? {}),
      ) as Row;
      return toEvent(row);
    },
    /** Newest first. `action` matches exactly, or as a prefix when it ends in `.` or `*` (`app.` → every app event). */
    async list(tenantId, filter = {}) {
      const limit = Math.min(Math.max(Math.trunc(filter.limit ?? AUDIT_PAGE.default), 1), AUDIT_PAGE.max);
      const where = ['tenant_id = ?'];
      const values: (string | number)[] = [tenantId];
      if (filter.action) {
        if (filter.action.endsWith('*') || filter.action.endsWith('.')) {
          const prefix = filter.action.replace(/\*$/, '');
          where.push('substr(action, 1, length(?)) = ?');
          values.push(prefix, prefix);
        } else {
          where.push('action = ?');
          values.push(filter.action);
        }
      }
      if (filter.target) {
        where.push('target = ?');
        values.push(filter.target);
      }
      if (filter.since) {
        where.push('time >= ?');
        values.push(filter.since);
      }
      if (filter.cursor) {
        where.push('seq < ?');
        values.push(decodeCursor(filter.cursor));
      }
      const rows = db
        .prepare(`SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`)
        .all(...values, limit + 1) as Row[];
      const page = rows.slice(0, limit);
      const next = rows.length > limit ? encodeCursor(Number(page[page.length - 1].seq)) : null;
      return { items: page.map(toEvent), next };
    },
  };
}
