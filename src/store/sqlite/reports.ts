/** Security reports over the sign-in log in SQLite (what counts: store/report-rules.ts). Times are ISO text in UTC. */
import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { SigninReports, SigninResult } from '../directory-types.ts';
import { signinEntryFromRow } from '../rows.ts';
import {
  DEFAULT_RISKY,
  DEFAULT_TOP,
  reportLimit,
  RISK_CODES,
  RISK_SIGNALS_FIELD,
  SIGNIN_ATTEMPT_EVENTS,
} from '../report-rules.ts';
import { cells, type Row } from './db.ts';

const ATTEMPTS = `event IN (${SIGNIN_ATTEMPT_EVENTS.map((e) => `'${e}'`).join(', ')})`;
const RISK_CODE_LIST = Object.keys(RISK_CODES)
  .map((c) => `'${c}'`)
  .join(', ');
const WINDOW = 'tenant_id = ? AND time >= ? AND time < ?';

export function createReportsRepo(db: DatabaseSync): SigninReports {
  const rows = (sql: string, ...args: SQLInputValue[]) => db.prepare(sql).all(...args) as Row[];
  const n = (v: unknown) => Number(v);
  return {
    async signinsByDay(t, r) {
      return rows(
        `SELECT substr(time, 1, 10) AS day, result, COUNT(*) AS count FROM signin_log WHERE ${WINDOW} AND ${ATTEMPTS}
        GROUP BY day, result ORDER BY day, result`,
        t,
        r.since,
        r.until,
      ).map((x) => ({ day: x.day as string, result: x.result as SigninResult, count: n(x.count) }));
    },
    async failuresByCode(t, r) {
      return rows(
        `SELECT code, COUNT(*) AS count FROM signin_log WHERE ${WINDOW} AND result <> 'success' AND code IS NOT NULL
        GROUP BY code ORDER BY count DESC, code`,
        t,
        r.since,
        r.until,
      ).map((x) => ({ code: x.code as string, count: n(x.count) }));
    },
    async mfaMethods(t, r) {
      return rows(
        `SELECT mfa_method AS method, COUNT(*) AS count FROM signin_log WHERE ${WINDOW} AND result = 'success' AND mfa_method IS NOT NULL
        GROUP BY mfa_method ORDER BY count DESC, method`,
        t,
        r.since,
        r.until,
      ).map((x) => ({ method: x.method as string, count: n(x.count) }));
    },
    async topApps(t, r) {
      return rows(
        `SELECT app_id, COUNT(*) AS total, SUM(result = 'success') AS allowed, SUM(result = 'denied') AS denied FROM signin_log
        WHERE ${WINDOW} AND event = 'access' AND app_id IS NOT NULL GROUP BY app_id ORDER BY total DESC, app_id LIMIT ?`,
        t,
        r.since,
        r.until,
        reportLimit(r.limit, DEFAULT_TOP),
      ).map((x) => ({ appId: x.app_id as string, total: n(x.total), allowed: n(x.allowed), denied: n(x.denied) }));
    },
    async topUsers(t, r) {
      // A known user by id; attempts against names that do not exist, by the name typed.
      return rows(
        `SELECT user_id, MAX(username) AS username, COUNT(*) AS total, SUM(result <> 'success') AS failures FROM signin_log
        WHERE ${WINDOW} AND ${ATTEMPTS} GROUP BY COALESCE(user_id, '~' || lower(username)) ORDER BY total DESC, username LIMIT ?`,
        t,
        r.since,
        r.until,
        reportLimit(r.limit, DEFAULT_TOP),
      ).map((x) => ({
        userId: (x.user_id as string | null) ?? null,
        username: (x.username as string | null) ?? null,
        total: n(x.total),
        failures: n(x.failures),
      }));
    },
    async byClientIp(t, r) {
      return rows(
        `SELECT client_ip, COUNT(*) AS total, SUM(result <> 'success') AS failures FROM signin_log
        WHERE ${WINDOW} AND ${ATTEMPTS} AND client_ip IS NOT NULL GROUP BY client_ip ORDER BY total DESC, client_ip LIMIT ?`,
        t,
        r.since,
        r.until,
        reportLimit(r.limit, 1000),
      ).map((x) => ({ clientIp: x.client_ip as string, total: n(x.total), failures: n(x.failures) }));
    },
    async risky(t, r) {
      return rows(
        `SELECT * FROM signin_log WHERE ${WINDOW}
        AND (json_array_length(detail, '$.${RISK_SIGNALS_FIELD}') > 0 OR code IN (${RISK_CODE_LIST}))
        ORDER BY seq DESC LIMIT ?`,
        t,
        r.since,
        r.until,
        reportLimit(r.limit, DEFAULT_RISKY),
      ).map((x) => signinEntryFromRow(x, cells));
    },
  };
}
