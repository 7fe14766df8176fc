/**
 * Records that work once, in the ephemeral state (identity/ephemeral-state.ts), so a flow begun on one edge node
 * finishes on any other: the one-time code the sign-in host hands an app host, and the short-lived flow records of
 * OIDC (state, nonce, PKCE verifier) and WebAuthn (challenge). Stored under the SHA-256 of their id, like sessions,
 * so a dump of the state holds nothing a browser could present.
 */
import type { EphemeralState } from '../../identity/ephemeral-state.ts';
import { recordKey } from './sessions.ts';
import type { RiskLevel } from '../../store/policy-types.ts';

export interface CodeRecord {
  tenantId: string;
  appId: string;
  centralId: string;
  userId: string;
  /** The state nonce the app host bound to the browser; the callback must present the same. */
  nonce: string;
  /** Conditional access at hand-off: a persistence the policies impose, the user's groups, the sign-in risk. */
  persistent?: boolean;
  groupIds?: string[];
  risk?: RiskLevel;
}

export function putCode(state: EphemeralState, code: string, record: CodeRecord, ttlSeconds: number): Promise<void> {
  return state.set(`code:${recordKey(code)}`, record, ttlSeconds * 1000);
}

/** Returns and deletes in one step: a code works once, whichever node redeems it. */
export function takeCode(state: EphemeralState, code: string): Promise<CodeRecord | null> {
  return state.take<CodeRecord>(`code:${recordKey(code)}`);
}

export function putFlow(
  state: EphemeralState,
  id: string,
  record: Record<string, unknown>,
  ttlSeconds: number,
): Promise<void> {
  return state.set(`flow:${recordKey(id)}`, record, ttlSeconds * 1000);
}

export function takeFlow(state: EphemeralState, id: string): Promise<Record<string, unknown> | null> {
  return state.take<Record<string, unknown>>(`flow:${recordKey(id)}`);
}
