/**
 * The signed, short-lived sign-in state the app host hands the sign-in host (and gets back on the callback): which
 * tenant and app, where to return, and a nonce the app host also put in a host-only cookie so the round trip cannot
 * be finished in another browser. HMAC-SHA256 with a key used for nothing else.
 */
import { sign, unsign } from '../../identity/keys.ts';
import { safeReturnPath } from './return-url.ts';
import type { SessionEndReason } from './sessions.ts';

const WHY: readonly string[] = ['DB-SESSION-REVOKED', 'DB-SESSION-SIGNED-OUT'] satisfies SessionEndReason[];

export const STATE_TTL_SECONDS = 600;

export interface SigninState {
  tenantId: string;
  appId: string;
  /** Path on the app's origin to return to. */
  returnPath: string;
  /** Bound to the browser by the app host's AUTH cookie. */
  nonce: string;
  /** ms since epoch. */
  expiresAt: number;
  /** Why the browser is sent to sign in again, when its session was ended on purpose: the sign-in page says so. */
  why?: SessionEndReason;
}

/** What travels in URLs: one-letter keys keep every redirect short (and states issued before the names changed valid). */
interface WireState {
  t: string;
  a: string;
  r: string;
  n: string;
  e: number;
  w?: string;
}

export function encodeState(key: Buffer, state: Omit<SigninState, 'expiresAt'>, now = Date.now()): string {
  const wire: WireState = {
    t: state.tenantId,
    a: state.appId,
    r: state.returnPath,
    n: state.nonce,
    e: now + STATE_TTL_SECONDS * 1000,
    ...(state.why ? { w: state.why } : {}),
  };
  return sign(key, Buffer.from(JSON.stringify(wire)).toString('base64url'));
}

/** The state when its signature verifies and it has not expired; null otherwise. */
export function decodeState(key: Buffer, text: string | null | undefined, now = Date.now()): SigninState | null {
  if (!text || text.length > 4096) return null;
  const value = unsign(key, text);
  if (!value) return null;
  try {
    const s = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as WireState;
    if (
      typeof s.t !== 'string' ||
      typeof s.a !== 'string' ||
      typeof s.n !== 'string' ||
      typeof s.e !== 'number' ||
      typeof s.r !== 'string'
    )
      return null;
    if (s.e <= now) return null;
    const why = typeof s.w === 'string' && WHY.includes(s.w) ? { why: s.w as SessionEndReason } : {};
    return { tenantId: s.t, appId: s.a, returnPath: safeReturnPath(s.r), nonce: s.n, expiresAt: s.e, ...why };
  } catch {
    return null;
  }
}
