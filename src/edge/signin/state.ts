/**
 * The signed, short-lived sign-in state the app host hands the sign-in host (and gets back on the callback): which
 * tenant and app, where to return, and a nonce the app host also put in a host-only cookie so the round trip cannot
 * be finished in another browser. HMAC-SHA256 with a key used for nothing else.
 */
import { sign, unsign } from '../../identity/keys.ts';
import { safeReturnPath } from './return-url.ts';

export const STATE_TTL_SECONDS = 600;

export interface SigninState {
  /** Tenant id. */
  t: string;
  /** App id. */
  a: string;
  /** Return path on the app's origin. */
  r: string;
  /** Nonce bound to the browser by the app host's AUTH cookie. */
  n: string;
  /** Expiry, ms since epoch. */
  e: number;
}

export function encodeState(key: Buffer, state: Omit<SigninState, 'e'>, now = Date.now()): string {
  const payload: SigninState = { ...state, e: now + STATE_TTL_SECONDS * 1000 };
  return sign(key, Buffer.from(JSON.stringify(payload)).toString('base64url'));
}

/** The state when its signature verifies and it has not expired; null otherwise. */
export function decodeState(key: Buffer, text: string | null | undefined, now = Date.now()): SigninState | null {
  if (!text || text.length > 4096) return null;
  const value = unsign(key, text);
  if (!value) return null;
  try {
    const s = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as SigninState;
    if (typeof s.t !== 'string' || typeof s.a !== 'string' || typeof s.n !== 'string' || typeof s.e !== 'number' || typeof s.r !== 'string') return null;
    if (s.e <= now) return null;
    return { ...s, r: safeReturnPath(s.r) };
  } catch {
    return null;
  }
}
