/** The sign-in log: append-only, paged newest first by `seq`, filtered by the columns admins search on. */
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { DirectoryStore } from '../directory-types.ts';
import { newDirectoryId } from '../directory-ids.ts';
import { signinEntryFromRow } from '../rows.ts';
import { pageLimit, SIGNIN_FILTER_COLUMNS, signinCursor, signinEntryToStore } from '../rules.ts';
import { cells, now, type Row } from './db.ts';

export function createSigninLogRepo(db: DatabaseSync): DirectoryStore['signinLog'] {
  return {
    async append(input) {
      const entry = signinEntryToStore(input);
      const id = newDirectoryId('sil');
      const time = entry.time ?? now();
      db.prepare(
        `INSERT INTO signin_log (id, tenant_id, time, event, user_id, username, app_id, client_ip, user_agent, result, code, auth_method, mfa_method, correlation_id, detail)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id,
        entry.tenantId,
        time,
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
      );
      return { ...entry, id, time };
    },
    async query(tenantId, filter = {}) {
      const where = ['tenant_id = ?'];
      const args: SQLInputValue[] = [tenantId];
      for (const [key, column] of Object.entries(SIGNIN_FILTER_COLUMNS)) {
        const value = filter[key as keyof typeof SIGNIN_FILTER_COLUMNS];
        if (value !== undefined && value !== '') {
          where.push(`${column} = ?`);
          args.push(value);
        }
      }
      if (filter.since) where.push('time >= ?'), args.push(filter.since);
      if (filter.until) where.push('time < ?'), args.push(filter.until);
      if (filter.cursor) where.push('seq < ?'), args.push(signinCursor.decode(filter.cursor));
      const limit = pageLimit(filter.limit);
      const rows = db
        .prepare(`SELECT * FROM signin_log WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`)
        .all(...args, limit + 1) as Row[];
      const items = rows.slice(0, limit);
      return {
        items: items.map((r) => signinEntryFromRow(r, cells)),
        next: rows.length > limit ? signinCursor.encode(items[items.length - 1].seq) : null,
      };
    },
  };
}
