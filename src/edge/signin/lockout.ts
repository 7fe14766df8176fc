/**
 * Smart lockout: where every sign-in failure is counted, and the one place that knows where each count is kept.
 *
 *   - An account's failures from a network it has completed a sign-in from before ("familiar") are counted apart
 *     from failures elsewhere, so an attacker far away can lock only the unfamiliar half and the user keeps signing
 *     in from home or the office. Familiar networks come from the user's successful sign-ins in the sign-in log
 *     (the exact IPv4 address or the IPv6 /64, seen within FAMILIAR_DAYS), which is the sign-in history Entra
 *     derives its familiar locations from too.
 *   - Unfamiliar failures of an existing account are kept on the account (the directory's lockout columns, shared
 *     by every edge node; an admin's unlock clears them). Familiar ones, and every failure against a name that does
 *     not exist, are kept in the ephemeral state (identity/ephemeral-state.ts: memory for one node, Redis shared by
 *     every node of a cluster), so an unknown name locks exactly like a real one and the lock reveals nothing.
 *     There a failure is one atomic counter hit (a day's window) and a lock one key that lives as long as the lock.
 *     Unknown names are keyed like the directory finds users: by the part before `@`, so `zed` and
 *     `zed@contoso.example` share a count as they would for a real account.
 *   - The rule itself (threshold, fixed period) is identity/lockout.ts, the same for all three places.
 */
import {
  afterFailure,
  DEFAULT_LOCKOUT,
  lockRemaining,
  type LockoutPolicy,
  type LockoutState,
} from '../../identity/lockout.ts';
import type { EphemeralState } from '../../identity/ephemeral-state.ts';
import type { DirectoryStore, User } from '../../store/directory-types.ts';

/** A network counts as familiar for this long after the user's last successful sign-in from it. */
export const FAMILIAR_DAYS = 60;
/** How many of the user's latest successful sign-ins are read to find familiar networks. */
const FAMILIAR_LOOKBACK = 100;
/** Failures outside the directory are forgotten this long after the first of them (or at a lock, or a sign-in). */
const FAILURE_WINDOW_MS = 86_400_000;

export interface LockBucket {
  /** The attempt comes from a network the account has signed in from before. */
  readonly familiar: boolean;
  /** Seconds until this bucket's lock lifts; 0 when open. */
  remaining(): number;
  /** Counts one failure; the seconds of the lock now in force (0 while still open). */
  fail(): Promise<number>;
}

export interface LockoutBook {
  /** The count that applies to an attempt on `login` (resolved to `user`, or null when no such account) from `clientIp`. */
  bucket(tenantId: string, login: string, user: User | null, clientIp: string | null): Promise<LockBucket>;
  /** A completed sign-in: records it on the account and clears its counts. */
  signedIn(tenantId: string, userId: string): Promise<void>;
}

/** The network an address stands for: an IPv4 address itself, an IPv6 address's /64. */
export function networkOf(ip: string | null): string | null {
  if (!ip) return null;
  const v4 = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  if (!v4.includes(':')) return v4;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export function createLockoutBook(
  directory: DirectoryStore,
  state: EphemeralState,
  now: () => number,
  policy: LockoutPolicy = DEFAULT_LOCKOUT,
): LockoutBook {
  const failuresKey = (key: string): string => `lockout:${key}:failures`;
  const lockKey = (key: string): string => `lockout:${key}:lock`;

  /** A count in the ephemeral state; its lock (if any) is read once here, so `remaining()` stays synchronous. */
  async function shared(key: string, familiar: boolean): Promise<LockBucket> {
    let lockedUntil = await state.get<string>(lockKey(key));
    const remaining = (): number => lockRemaining({ failedCount: 0, lockedUntil }, new Date(now()));
    return {
      familiar,
      remaining,
      async fail() {
        // Attempts during a lock (set here or by another node since) neither count nor lengthen it.
        if (remaining() > 0) return remaining();
        lockedUntil = await state.get<string>(lockKey(key));
        if (remaining() > 0) return remaining();
        const at = new Date(now());
        const { count } = await state.hit(failuresKey(key), FAILURE_WINDOW_MS);
        const next = afterFailure({ failedCount: count - 1, lockedUntil: null }, at, policy);
        if (next.lockedUntil) {
          // A lock that runs out starts a fresh count: the failures that caused it go with it.
          await state.set(lockKey(key), next.lockedUntil, policy.lockSeconds * 1000 + 1000);
          await state.delete(failuresKey(key));
          lockedUntil = next.lockedUntil;
        }
        return lockRemaining(next, at);
      },
    };
  }

  async function familiarNetworks(tenantId: string, userId: string): Promise<Set<string>> {
    const since = new Date(now() - FAMILIAR_DAYS * 86_400_000).toISOString();
    const { items } = await directory.signinLog.query(tenantId, {
      userId,
      result: 'success',
      since,
      limit: FAMILIAR_LOOKBACK,
    });
    return new Set(items.map((e) => networkOf(e.clientIp)).filter((n): n is string => n !== null));
  }

  return {
    async bucket(tenantId, login, user, clientIp) {
      if (!user)
        return shared(`${tenantId}:name:${encodeURIComponent(login.trim().toLowerCase().split('@')[0])}`, false);
      const network = networkOf(clientIp);
      if (network && (await familiarNetworks(tenantId, user.id)).has(network))
        return shared(`${tenantId}:user:${user.id}`, true);
      let account: LockoutState = { failedCount: user.failedCount, lockedUntil: user.lockedUntil };
      return {
        familiar: false,
        remaining: () => lockRemaining(account, new Date(now())),
        async fail() {
          const at = new Date(now());
          account = afterFailure(account, at, policy);
          await directory.users.setLockout(tenantId, user.id, account);
          return lockRemaining(account, at);
        },
      };
    },
    async signedIn(tenantId, userId) {
      // The directory clears the account's own (unfamiliar) count with the record of the sign-in.
      await directory.users.recordSignIn(tenantId, userId, new Date(now()).toISOString());
      await state.delete(failuresKey(`${tenantId}:user:${userId}`), lockKey(`${tenantId}:user:${userId}`));
    },
  };
}
