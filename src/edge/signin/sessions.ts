/**
 * Sessions: the central one on the sign-in host and one per app host it opened (the one-time codes that link them
 * and the OIDC/WebAuthn flow records are ephemeral state: one-time.ts). The store is authoritative: a cookie only names a record,
 * and revoking the record ends the session everywhere at once. `SessionStore` is the seam for a Redis-backed store in
 * a cluster; `createMemorySessionStore()` serves the embedded edge. Record ids are kept only as SHA-256 hashes.
 */
import { hash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Identity } from '../../tunnel/protocol.ts';
import type { AuthMethod } from './names.ts';
import type { RiskLevel } from '../../store/policy-types.ts';

export interface CentralSession {
  id: string;
  tenantId: string;
  userId: string;
  /** The first factor (`password`, `oidc`, `webauthn`), then the second (`totp`, `recovery`, `webauthn`). */
  authMethods: AuthMethod[];
  /** `mfa`: password done, second factor pending; `enroll`: must enrol an MFA method first; `done`: signed in. */
  stage: 'mfa' | 'enroll' | 'done';
  persistent: boolean;
  createdAt: number;
  lastSeenAt: number;
  idleSeconds: number;
  absoluteSeconds: number;
  /** Failed second-factor attempts in this session (it is ended after a few). */
  mfaFailures: number;
}

export interface AppSession {
  id: string;
  centralId: string;
  tenantId: string;
  appId: string;
  userId: string;
  identity: Identity;
  persistent: boolean;
  createdAt: number;
  lastSeenAt: number;
  /** When the access decision was last re-evaluated. */
  checkedAt: number;
  /** Directory group ids at sign-in, and the sign-in's risk: what conditional access needs on every request. */
  groupIds?: string[];
  risk?: RiskLevel;
  idleSeconds: number;
  absoluteSeconds: number;
}

/** Why sessions were ended on purpose: the code the next request of their browser is shown. */
export type SessionEndReason = 'DB-SESSION-REVOKED' | 'DB-SESSION-SIGNED-OUT';

/**
 * Sessions ended on purpose, heard by every edge node sharing the store (continuous access evaluation closes the
 * connections they opened): one central session, or (`centralKey` null) every session of the user.
 */
export interface SessionsEnded {
  tenantId: string;
  userId: string;
  /** `recordKey()` of the central session; null: all of the user's sessions. */
  centralKey: string | null;
  reason: SessionEndReason;
}

export interface SessionStore {
  putCentral(session: CentralSession): Promise<void>;
  getCentral(id: string): Promise<CentralSession | null>;
  /**
   * Ends the central session and every app session it opened. With a reason (sign-out), every node hears of it
   * (`onEnded`) and the app sessions remember why (`endReason`).
   */
  deleteCentral(id: string, reason?: SessionEndReason): Promise<void>;
  putApp(session: AppSession): Promise<void>;
  getApp(id: string): Promise<AppSession | null>;
  deleteApp(id: string): Promise<void>;
  /** Admin revocation: ends every central and app session of the user. Returns how many central sessions ended. */
  revokeUser(tenantId: string, userId: string, reason?: SessionEndReason): Promise<number>;
  listUser(tenantId: string, userId: string): Promise<CentralSession[]>;
  /** Why an app session that no longer exists was ended, while it would otherwise still be alive; else null. */
  endReason(appId: string): Promise<SessionEndReason | null>;
  /** Sessions ended on purpose, on any node sharing this store. Returns the unsubscribe function. */
  onEnded(listener: (event: SessionsEnded) => void): () => void;
  close(): Promise<void>;
}

export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

// Stored under a digest of the id, so a dump of the store holds no usable cookie; the one-shot hash() is ~3× cheaper
// per request than a createHash object.
export const recordKey = (id: string): string => hash('sha256', id, 'base64url');
const h = recordKey;

// The memory store hands out copies, as a networked store (Redis) would, so a caller's edits never leak into the
// stored session until putCentral/putApp. Copies that know the shapes: structuredClone on every request cost ~12% of
// the edge's CPU for pre-authenticated traffic.
const copyCentral = (s: CentralSession): CentralSession => ({ ...s, authMethods: [...s.authMethods] });
const copyApp = (s: AppSession): AppSession => ({
  ...s,
  identity: { ...s.identity, groups: [...s.identity.groups], authMethods: [...s.identity.authMethods] },
  ...(s.groupIds ? { groupIds: [...s.groupIds] } : {}),
});

export function expiresAt(
  s: Pick<CentralSession, 'createdAt' | 'lastSeenAt' | 'idleSeconds' | 'absoluteSeconds'>,
): number {
  return Math.min(s.lastSeenAt + s.idleSeconds * 1000, s.createdAt + s.absoluteSeconds * 1000);
}

export function isAlive(
  s: Pick<CentralSession, 'createdAt' | 'lastSeenAt' | 'idleSeconds' | 'absoluteSeconds'>,
  now: number,
): boolean {
  return now < expiresAt(s);
}

export function createMemorySessionStore(options: { now?: () => number; sweepSeconds?: number } = {}): SessionStore {
  const now = options.now ?? Date.now;
  const central = new Map<string, CentralSession>();
  const apps = new Map<string, AppSession>();
  const byCentral = new Map<string, Set<string>>();
  /** App session key → why it was ended and until when that is worth saying (its own end). */
  const ended = new Map<string, { reason: SessionEndReason; until: number }>();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const tombstone = (key: string, reason: SessionEndReason) => {
    const s = apps.get(key);
    if (s) ended.set(key, { reason, until: expiresAt(s) });
  };
  const announce = (event: SessionsEnded) => {
    for (const listener of events.listeners('ended') as ((e: SessionsEnded) => void)[]) {
      try {
        listener(event);
      } catch {
        /* a listener's bug never fails the sign-out */
      }
    }
  };

  const dropApp = (key: string) => {
    const s = apps.get(key);
    if (!s) return;
    apps.delete(key);
    byCentral.get(h(s.centralId))?.delete(key);
  };
  const dropCentral = (key: string) => {
    central.delete(key);
    for (const appKey of byCentral.get(key) ?? []) apps.delete(appKey);
    byCentral.delete(key);
  };

  const sweep = setInterval(
    () => {
      const t = now();
      for (const [k, s] of central) if (!isAlive(s, t)) dropCentral(k);
      for (const [k, s] of apps) if (!isAlive(s, t)) dropApp(k);
      for (const [k, e] of ended) if (e.until <= t) ended.delete(k);
    },
    (options.sweepSeconds ?? 60) * 1000,
  );
  sweep.unref();

  return {
    async putCentral(s) {
      central.set(h(s.id), copyCentral(s));
    },
    async getCentral(id) {
      const s = central.get(h(id));
      if (!s) return null;
      if (!isAlive(s, now())) {
        dropCentral(h(id));
        return null;
      }
      return copyCentral(s);
    },
    async deleteCentral(id, reason) {
      const key = h(id);
      const s = central.get(key);
      if (reason) for (const appKey of byCentral.get(key) ?? []) tombstone(appKey, reason);
      dropCentral(key);
      if (reason && s) announce({ tenantId: s.tenantId, userId: s.userId, centralKey: key, reason });
    },
    async putApp(s) {
      const key = h(s.id);
      apps.set(key, copyApp(s));
      const ck = h(s.centralId);
      let set = byCentral.get(ck);
      if (!set) byCentral.set(ck, (set = new Set()));
      set.add(key);
    },
    async getApp(id) {
      const s = apps.get(h(id));
      if (!s) return null;
      if (!isAlive(s, now())) {
        dropApp(h(id));
        return null;
      }
      return copyApp(s);
    },
    async deleteApp(id) {
      dropApp(h(id));
    },
    async revokeUser(tenantId, userId, reason = 'DB-SESSION-REVOKED') {
      let n = 0;
      for (const [k, s] of apps) if (s.tenantId === tenantId && s.userId === userId) tombstone(k, reason), dropApp(k);
      for (const [k, s] of central) {
        if (s.tenantId === tenantId && s.userId === userId) {
          dropCentral(k);
          n++;
        }
      }
      announce({ tenantId, userId, centralKey: null, reason });
      return n;
    },
    async listUser(tenantId, userId) {
      const t = now();
      return [...central.values()]
        .filter((s) => s.tenantId === tenantId && s.userId === userId && isAlive(s, t))
        .map((s) => ({ ...structuredClone(s), id: '' }));
    },
    async endReason(id) {
      const e = ended.get(h(id));
      return e && e.until > now() ? e.reason : null;
    },
    onEnded(listener) {
      events.on('ended', listener);
      return () => void events.off('ended', listener);
    },
    async close() {
      clearInterval(sweep);
      central.clear();
      apps.clear();
      byCentral.clear();
      ended.clear();
      events.removeAllListeners();
    },
  };
}
