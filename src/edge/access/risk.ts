/**
 * Sign-in risk from the tenant's own sign-in log, pure: the caller reads the history once per sign-in (never per
 * request) and resolves countries. Signals:
 *
 * - `new-country`: the user has signed in successfully before, never from this country;
 * - `impossible-travel`: the user's last successful sign-in was from another country less than
 *   IMPOSSIBLE_TRAVEL_HOURS ago (a country database has no coordinates, so any change of country within that time
 *   counts: neighbouring countries across a border can raise it falsely);
 * - `failure-burst`: FAILURE_BURST or more failed sign-ins for this user within BURST_MINUTES;
 * - `password-spray`: failures for SPRAY_ACCOUNTS or more distinct accounts from this client address within
 *   BURST_MINUTES.
 *
 * Level: high for spray or impossible travel, medium for a new country or a burst, none otherwise.
 */
import type { RiskLevel, RiskSignal } from '../../store/policy-types.ts';

export const IMPOSSIBLE_TRAVEL_HOURS = 2;
export const BURST_MINUTES = 15;
export const FAILURE_BURST = 5;
export const SPRAY_ACCOUNTS = 5;
/** How far back the user's history is read. */
export const HISTORY_DAYS = 90;

export interface PastSignin {
  time: string;
  userId: string | null;
  username: string | null;
  clientIp: string | null;
  country: string | null;
  result: 'success' | 'failure' | 'denied' | 'interrupted';
}

export interface Risk {
  level: RiskLevel;
  signals: RiskSignal[];
}

export const NO_RISK: Risk = { level: 'none', signals: [] };

export function assessRisk(input: {
  userId: string;
  ip: string | null;
  country: string | null;
  now: Date;
  /** This user's earlier sign-in events (successes and failures). */
  userHistory: readonly PastSignin[];
  /** The tenant's recent failed sign-ins from this client address. */
  addressFailures: readonly PastSignin[];
}): Risk {
  const t = input.now.getTime();
  const signals: RiskSignal[] = [];
  const successes = input.userHistory
    .filter((e) => e.result === 'success')
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  if (input.country) {
    const known = successes.filter((e) => e.country);
    if (known.length > 0 && !known.some((e) => e.country === input.country)) signals.push('new-country');
    const last = known[0];
    if (last && last.country !== input.country && t - Date.parse(last.time) < IMPOSSIBLE_TRAVEL_HOURS * 3_600_000)
      signals.push('impossible-travel');
  }
  const since = t - BURST_MINUTES * 60_000;
  const recentFailures = input.userHistory.filter((e) => e.result === 'failure' && Date.parse(e.time) >= since);
  if (recentFailures.length >= FAILURE_BURST) signals.push('failure-burst');
  const accounts = new Set(
    input.addressFailures
      .filter((e) => Date.parse(e.time) >= since && e.clientIp === input.ip)
      .map((e) => (e.username ?? e.userId ?? '').toLowerCase()),
  );
  accounts.delete('');
  if (accounts.size >= SPRAY_ACCOUNTS) signals.push('password-spray');
  const level: RiskLevel =
    signals.includes('password-spray') || signals.includes('impossible-travel')
      ? 'high'
      : signals.length > 0
        ? 'medium'
        : 'none';
  return { level, signals };
}
