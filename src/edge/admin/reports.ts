/**
 * Security reports: what each one is, its columns, and how it is computed from the store's SQL aggregates
 * (DirectoryStore.reports; what counts is store/report-rules.ts). Shared by the admin API (report-routes.ts) and the
 * CLI, so `--format csv` prints exactly what the API exports.
 *
 * Locations: the store groups sign-ins by client address; a `ReportLocator` names each address's country (only when
 * a country database is configured) and the tenant's named locations containing it (when policies define them).
 * Without one, every address is in country `null` and no named location.
 */
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { DirectoryStore, ReportRange } from '../../store/directory-types.ts';
import { riskSignals } from '../../store/report-rules.ts';
import { csvCell } from './signin-log-routes.ts';

export interface ReportLocator {
  /** ISO 3166-1 alpha-2 country of an address, or null (unknown, or no country database configured). */
  country?(ip: string): string | null | Promise<string | null>;
  /** Names of the tenant's named locations that contain the address. */
  namedLocations?(tenantId: string, ip: string): string[] | Promise<string[]>;
}

export const REPORTS = {
  'signins-by-day': { summary: 'Sign-ins per day (UTC) by result', columns: ['day', 'result', 'count'] },
  'failures-by-code': { summary: 'Failures and denials by code', columns: ['code', 'count'] },
  'mfa-methods': { summary: 'Second factors used (successful steps) by method', columns: ['method', 'count'] },
  'risky-signins': {
    summary: 'Risky sign-ins, newest first, with their signals',
    columns: ['time', 'event', 'result', 'code', 'username', 'userId', 'appId', 'clientIp', 'signals', 'correlationId'],
  },
  'top-apps': {
    summary: 'Apps by access decisions (allowed and denied)',
    columns: ['appId', 'appName', 'total', 'allowed', 'denied'],
  },
  'top-users': {
    summary: 'Users by sign-in attempts, with failures',
    columns: ['userId', 'username', 'total', 'failures'],
  },
  countries: {
    summary: 'Sign-ins by country of the client address (null: unknown or no country database)',
    columns: ['country', 'total', 'failures'],
  },
  'named-locations': {
    summary: 'Sign-ins by named location of the client address (null: in none)',
    columns: ['namedLocation', 'total', 'failures'],
  },
} as const;
export type ReportName = keyof typeof REPORTS;
export const REPORT_NAMES = Object.keys(REPORTS) as ReportName[];
export type ReportRow = Record<string, string | number | string[] | null>;

const DAY_MS = 86_400_000;
export const DEFAULT_WINDOW_DAYS = 30;

export function isReportName(name: string): name is ReportName {
  return Object.hasOwn(REPORTS, name);
}

/** `since`/`until` from the query (ISO times; default the last 30 days up to now). */
export function reportRange(
  q: { since?: string; until?: string; limit?: string | number },
  now = Date.now(),
): ReportRange {
  const time = (value: string | undefined, field: string, fallback: number): string => {
    if (value === undefined || value === '') return new Date(fallback).toISOString();
    const t = Date.parse(value);
    if (Number.isNaN(t))
      throw new DrawbridgeError(
        'DB-ADMIN-INVALID',
        `${field}: expected an ISO 8601 time such as 2030-01-31 or 2030-01-31T12:00:00Z`,
      );
    return new Date(t).toISOString();
  };
  const until = time(q.until, 'until', now);
  const since = time(q.since, 'since', Date.parse(until) - DEFAULT_WINDOW_DAYS * DAY_MS);
  if (since >= until) throw new DrawbridgeError('DB-ADMIN-INVALID', 'since must be before until');
  const limit = q.limit === undefined || q.limit === '' ? undefined : Number(q.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000))
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'limit: 1 to 1000');
  return { since, until, ...(limit ? { limit } : {}) };
}

type Totals = { total: number; failures: number };
function tally<K extends string | null>(into: Map<K, Totals>, key: K, row: Totals): void {
  const t = into.get(key) ?? { total: 0, failures: 0 };
  t.total += row.total;
  t.failures += row.failures;
  into.set(key, t);
}
/** Most sign-ins first; among equals by name, the unknown (null) last. */
const ranked = <K extends string | null>(m: Map<K, Totals>) =>
  [...m].sort((x, y) => y[1].total - x[1].total || (x[0] === null ? 1 : y[0] === null ? -1 : x[0].localeCompare(y[0])));

export async function computeReport(
  deps: {
    directory: DirectoryStore;
    appNames: (tenantId: string) => Promise<Map<string, string>>;
    locator: ReportLocator;
  },
  tenantId: string,
  name: ReportName,
  range: ReportRange,
): Promise<ReportRow[]> {
  const r = deps.directory.reports;
  switch (name) {
    case 'signins-by-day':
      return r.signinsByDay(tenantId, range);
    case 'failures-by-code':
      return r.failuresByCode(tenantId, range);
    case 'mfa-methods':
      return r.mfaMethods(tenantId, range);
    case 'top-users':
      return r.topUsers(tenantId, range);
    case 'top-apps': {
      const names = await deps.appNames(tenantId);
      return (await r.topApps(tenantId, range)).map((a) => ({
        appId: a.appId,
        appName: names.get(a.appId) ?? null,
        total: a.total,
        allowed: a.allowed,
        denied: a.denied,
      }));
    }
    case 'risky-signins':
      return (await r.risky(tenantId, range)).map((e) => ({
        time: e.time,
        event: e.event,
        result: e.result,
        code: e.code,
        username: e.username,
        userId: e.userId,
        appId: e.appId,
        clientIp: e.clientIp,
        signals: riskSignals(e),
        correlationId: e.correlationId,
      }));
    case 'countries': {
      const by = new Map<string | null, Totals>();
      for (const row of await r.byClientIp(tenantId, range))
        tally(by, (await deps.locator.country?.(row.clientIp)) ?? null, row);
      return ranked(by).map(([country, t]) => ({ country, ...t }));
    }
    case 'named-locations': {
      const by = new Map<string | null, Totals>();
      for (const row of await r.byClientIp(tenantId, range)) {
        const names = (await deps.locator.namedLocations?.(tenantId, row.clientIp)) ?? [];
        if (names.length === 0) tally(by, null, row);
        for (const n of names) tally(by, n, row);
      }
      return ranked(by).map(([namedLocation, t]) => ({ namedLocation, ...t }));
    }
  }
}

/** CSV with the report's columns (quoted, formula-safe; lists joined with `;`), CRLF line ends. */
export function reportCsv(name: ReportName, rows: ReportRow[]): string {
  const columns = REPORTS[name].columns as readonly string[];
  const cell = (v: unknown) => csvCell(Array.isArray(v) ? v.join(';') : v);
  return `${[columns.join(','), ...rows.map((row) => columns.map((c) => cell(row[c])).join(','))].join('\r\n')}\r\n`;
}
