/**
 * Account lockout after repeated failures (pure: the caller persists the state). Consecutive failures up to the
 * threshold lock for a fixed period. Attempts during a lock neither count nor lengthen it, and a lock that has run
 * out starts a fresh count: a steady trickle of wrong passwords can never keep an account shut for longer than the
 * threshold allows, and the right password after the lock succeeds. A success resets.
 */
export interface LockoutPolicy {
  /** Failures that start a lock. */
  threshold: number;
  /** Lock duration, seconds. */
  lockSeconds: number;
}

export interface LockoutState {
  failedCount: number;
  /** ISO time, or null. */
  lockedUntil: string | null;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { threshold: 5, lockSeconds: 60 };

export function isLocked(state: LockoutState, now: Date): boolean {
  return state.lockedUntil !== null && Date.parse(state.lockedUntil) > now.getTime();
}

/** Seconds until the lock lifts (0 when not locked). */
export function lockRemaining(state: LockoutState, now: Date): number {
  if (!isLocked(state, now)) return 0;
  return Math.ceil((Date.parse(state.lockedUntil as string) - now.getTime()) / 1000);
}

export function afterFailure(state: LockoutState, now: Date, policy: LockoutPolicy = DEFAULT_LOCKOUT): LockoutState {
  if (isLocked(state, now)) return state;
  // A lock that has run out is forgotten with the failures that caused it.
  const failedCount = (state.lockedUntil === null ? state.failedCount : 0) + 1;
  if (failedCount < policy.threshold) return { failedCount, lockedUntil: null };
  return { failedCount, lockedUntil: new Date(now.getTime() + policy.lockSeconds * 1000).toISOString() };
}

export function afterSuccess(): LockoutState {
  return { failedCount: 0, lockedUntil: null };
}
