/** The sign-in log on PostgreSQL: append-only, paged newest first by `seq`, filtered as in SQLite (rules.ts). */
import type { DirectoryStore } from '../directory-types.ts';
import { newDirectoryId } from '../directory-ids.ts';
import { signinEntryFromRow } from '../rows.ts';
import { pageLimit, SIGNIN_FILTER_COLUMNS, signinCursor, signinEntryToStore } from '../rules.ts';
import { type Ctx, type Row, all, cells, guard, now, one, params } from './db.ts';

export function createSigninLogRepo(ctx: Ctx): DirectoryStore['signinLog'] {
  const { pool } = ctx;
  return {
    async append(input) {
      const entry = signinEntryToStore(input);
      const row = await guard(
        'sign-in log entry',
        one(
          pool,
          `INSERT INTO signin_log (id, tenant_id, time, event, user_id, username, app_id, client_ip, user_agent, result, code, auth_method, mfa_method, correlation_id, detail)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *`,
          [
            newDirectoryId('sil'),
            entry.tenantId,
            entry.time ?? now(),
            entry.event,
            entry.userId,
            entry.username,
            entry.appId,
            entry.clientIp,
            entry.userAgent,
            entry.result,
            entry.code,
            entry.authMethod,
            entry.mfaMethod,
            entry.correlationId,
            JSON.stringify(entry.detail),
          ],
        ),
      );
      return signinEntryFromRow(row as Row, cells);
    },
    async query(tenantId, filter = {}) {
      const { values, p } = params();
      const where = [`tenant_id = ${p(tenantId)}`];
      for (const [key, column] of Object.entries(SIGNIN_FILTER_COLUMNS)) {
        const value = filter[key as keyof typeof SIGNIN_FILTER_COLUMNS];
        if (value !== undefined && value !== '') where.push(`${column} = ${p(value)}`);
      }
      if (filter.since) where.push(`time >= ${p(filter.since)}`);
      if (filter.until) where.push(`time < ${p(filter.until)}`);
      if (filter.cursor) where.push(`seq < ${p(signinCursor.decode(filter.cursor))}`);
      const limit = pageLimit(filter.limit);
      const rows = await guard(
        'sign-in log filter',
        all(
          pool,
          `SELECT * FROM signin_log WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ${p(limit + 1)}`,
          values,
        ),
      );
      const items = rows.slice(0, limit);
      return {
        items: items.map((r) => signinEntryFromRow(r, cells)),
        next: rows.length > limit ? signinCursor.encode(items[items.length - 1].seq) : null,
      };
    },
  };
}
