/**
 * 004 — per-app opt-in to retry PUT and DELETE on another connector when a tunnel dies before the request reached
 * the backend (issue 3): those methods are idempotent by definition (RFC 9110 §9.2.2), but only the app's owner knows
 * whether the backend honours that. Existing apps keep the safe default: no retry.
 */
export const up = `
ALTER TABLE apps ADD COLUMN retry_writes INTEGER NOT NULL DEFAULT 0;
`;
