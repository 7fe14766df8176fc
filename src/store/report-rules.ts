/**
 * What the security reports count, shared by both stores' SQL (sqlite/reports.ts, postgres/reports.ts) and the API:
 * one definition, so the two stores agree and the contract suite can hold them to it.
 */
import type { SigninLogEntry } from './directory-types.ts';

/** Credential checks: a sign-in attempt each (the first factor, or a federation step that failed). */
export const SIGNIN_ATTEMPT_EVENTS = ['signin', 'federation'] as const;
/**
 * Codes that are risk signals by themselves, from the fields the sign-in log has today. Policies add their own
 * signals (new country, impossible travel, password spray …) to a row's `detail.riskSignals` (an array of names);
 * the risky sign-ins report shows both.
 */
export const RISK_CODES: Record<string, string> = {
  'DB-SIGNIN-LOCKED-OUT': 'locked-out',
  'DB-SIGNIN-RATE-LIMITED': 'rate-limited',
};
export const RISK_SIGNALS_FIELD = 'riskSignals';

export const DEFAULT_TOP = 10;
export const DEFAULT_RISKY = 100;
export const MAX_REPORT_ROWS = 1000;

export function reportLimit(limit: number | undefined, fallback: number): number {
  return Math.min(Math.max(Math.floor(limit ?? fallback), 1), MAX_REPORT_ROWS);
}

/** A risky row's signals: those the policies recorded, then those its code implies. */
export function riskSignals(entry: Pick<SigninLogEntry, 'code' | 'detail'>): string[] {
  const recorded = entry.detail[RISK_SIGNALS_FIELD];
  const signals = Array.isArray(recorded) ? recorded.filter((s): s is string => typeof s === 'string') : [];
  const implied = entry.code ? RISK_CODES[entry.code] : undefined;
  return implied && !signals.includes(implied) ? [...signals, implied] : signals;
}
