/**
 * Account lockout after repeated failures (pure: the caller persists the state). Consecutive failures past the
 * threshold lock the account for a period that doubles with each further failure, up to a cap; a success resets.
 */
export interface LockoutPolicy {
  /** Failures allowed before the first lock. */
  threshold: number;
  /** First lock duration, seconds. */
  baseSeconds: number;
  maxSeconds: number;
}

export interface LockoutState {
  failedCount: number;
  /** ISO time, or null. */
  lockedUntil: string | null;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { threshold: 5, baseSeconds: 60, maxSeconds: 3600 };

export function isLocked(state: LockoutState, now: Date): boolean {
  return state.lockedUntil !== null && Date.parse(state.lockedUntil) > now.getTime();
}

/** Seconds until the lock lifts (0 when not locked). */
export function lockRemaining(state: LockoutState, now: Date): number {
  if (!isLocked(state, now)) return 0;
  return Math.ceil((Date.parse(state.lockedUntil as string) - now.getTime()) / 1000);
}

export function afterFailure(state: LockoutState, now: Date, policy: LockoutPolicy = DEFAULT_LOCKOUT): LockoutState {
  const failedCount = state.failedCount + 1;
  if (failedCount < policy.threshold) return { failedCount, lockedUntil: state.lockedUntil };
  const seconds = Math.min(policy.baseSeconds * 2 ** (failedCount - policy.threshold), policy.maxSeconds);
  return { failedCount, lockedUntil: new Date(now.getTime() + seconds * 1000).toISOString() };
}

export function afterSuccess(): LockoutState {
  return { failedCount: 0, lockedUntil: null };
}
