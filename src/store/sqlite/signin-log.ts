/** The sign-in log: append-only, paged newest first by `seq`, filtered by the columns admins search on. */
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { DirectoryStore, SigninLogEntry, SigninResult } from '../directory-types.ts';
import { now, str, strOrNull, type Row } from './db.ts';
import { newDirectoryId } from './directory-ids.ts';

function toEntry(r: Row): SigninLogEntry {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    time: str(r.time),
    event: str(r.event),
    userId: strOrNull(r.user_id),
    username: strOrNull(r.username),
    appId: strOrNull(r.app_id),
    clientIp: strOrNull(r.client_ip),
    userAgent: strOrNull(r.user_agent),
    result: str(r.result) as SigninResult,
    code: strOrNull(r.code),
    authMethod: strOrNull(r.auth_method),
    mfaMethod: strOrNull(r.mfa_method),
    correlationId: strOrNull(r.correlation_id),
    detail: JSON.parse(str(r.detail)) as Record<string, unknown>,
  };
}

const FILTER_COLUMNS = {
  userId: 'user_id',
  username: 'username',
  appId: 'app_id',
  result: 'result',
  code: 'code',
  event: 'event',
  clientIp: 'client_ip',
} as const;

export function createSigninLogRepo(db: DatabaseSync): DirectoryStore['signinLog'] {
  return {
    async append(entry) {
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
        entry.username?.slice(0, 256) ?? null,
        entry.appId,
        entry.clientIp,
        entry.userAgent?.slice(0, 512) ?? null,
        entry.result,
        entry.code,
        entry.authMethod,
        entry.mfaMethod,
        entry.correlationId,
        JSON.stringify(entry.detail ?? {}),
      );
      return { ...entry, id, time, detail: entry.detail ?? {} };
    },
    async query(tenantId, filter = {}) {
      const where = ['tenant_id = ?'];
      const args: SQLInputValue[] = [tenantId];
      for (const [key, column] of Object.entries(FILTER_COLUMNS)) {
        const value = filter[key as keyof typeof FILTER_COLUMNS];
        if (value !== undefined && value !== '') {
          where.push(`${column} = ?`);
          args.push(value);
        }
      }
      if (filter.since) (where.push('time >= ?'), args.push(filter.since));
      if (filter.until) (where.push('time < ?'), args.push(filter.until));
      if (filter.cursor) {
        const seq = Number(Buffer.from(filter.cursor, 'base64url').toString());
        if (!Number.isInteger(seq)) throw new DrawbridgeError('DB-ADMIN-INVALID', 'cursor is not valid');
        where.push('seq < ?');
        args.push(seq);
      }
      const limit = Math.min(Math.max(filter.limit ?? 100, 1), 1000);
      const rows = db.prepare(`SELECT * FROM signin_log WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT ?`).all(...args, limit + 1) as Row[];
      const items = rows.slice(0, limit);
      return {
        items: items.map(toEntry),
        next: rows.length > limit ? Buffer.from(String(items[items.length - 1].seq)).toString('base64url') : null,
      };
    },
  };
}
