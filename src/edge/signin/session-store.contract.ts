/**
 * What every SessionStore must do, run against each implementation (session-store.test.ts): the memory store of the
 * embedded edge and the Redis store of a cluster. `make` receives the clock the store must judge expiry by.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppSession, CentralSession, SessionsEnded, SessionStore } from './sessions.ts';

export function sessionStoreContract(make: (now: () => number) => SessionStore, unique: () => string): void {
  const central = (over: Partial<CentralSession> = {}): CentralSession => ({
    id: unique(),
    tenantId: 't',
    userId: unique(),
    authMethods: ['password'],
    stage: 'done',
    persistent: false,
    createdAt: 0,
    lastSeenAt: 0,
    idleSeconds: 60,
    absoluteSeconds: 120,
    mfaFailures: 0,
    ...over,
  });
  const app = (c: CentralSession, over: Partial<AppSession> = {}): AppSession => ({
    id: unique(),
    centralId: c.id,
    tenantId: c.tenantId,
    appId: 'app',
    userId: c.userId,
    identity: {
      userId: c.userId,
      tenantId: c.tenantId,
      upn: 'u@t',
      displayName: 'U',
      email: null,
      onPremName: null,
      groups: ['g'],
      authMethods: ['password'],
    },
    persistent: false,
    createdAt: c.createdAt,
    lastSeenAt: c.lastSeenAt,
    checkedAt: 0,
    idleSeconds: 60,
    absoluteSeconds: 120,
    ...over,
  });

  it('round-trips sessions; readers get copies; ending the central session ends its app sessions', async () => {
    const store = make(() => 0);
    try {
      const c = central();
      const a = app(c);
      await store.putCentral(c);
      await store.putApp(a);
      assert.deepEqual(await store.getCentral(c.id), c);
      const copy = await store.getApp(a.id);
      assert.deepEqual(copy, a);
      copy!.identity.groups.push('mutated');
      assert.deepEqual(
        (await store.getApp(a.id))?.identity.groups,
        ['g'],
        'edits of a read copy never reach the store',
      );
      await store.deleteCentral(c.id);
      assert.equal(await store.getCentral(c.id), null);
      assert.equal(await store.getApp(a.id), null);
      assert.equal(await store.getCentral('never-stored'), null);
    } finally {
      await store.close();
    }
  });

  it('expires on idle time and on absolute time', async () => {
    let now = 0;
    const store = make(() => now);
    try {
      const idle = central({ lastSeenAt: 50_000 });
      await store.putCentral(idle);
      now = 100_000;
      assert.ok(await store.getCentral(idle.id), 'idle counts from lastSeenAt');
      now = 111_000;
      assert.equal(await store.getCentral(idle.id), null, 'idle');
      const absolute = central({ createdAt: 0, lastSeenAt: 110_000, idleSeconds: 600 });
      await store.putCentral(absolute);
      now = 120_001;
      assert.equal(await store.getCentral(absolute.id), null, 'absolute');
      const a = app(central(), { createdAt: 0, lastSeenAt: 0 });
      await store.putApp(a);
      assert.equal(await store.getApp(a.id), null, 'an app session past its own lifetime');
    } finally {
      await store.close();
    }
  });

  it('revocation ends every session of a user, and only theirs; listUser shows the live ones without ids', async () => {
    const t = Date.now();
    const store = make(Date.now);
    try {
      const userId = unique();
      const x = central({ userId, createdAt: t, lastSeenAt: t });
      const y = central({ userId, createdAt: t, lastSeenAt: t });
      const other = central({ createdAt: t, lastSeenAt: t });
      const ax = app(x);
      for (const s of [x, y, other]) await store.putCentral(s);
      await store.putApp(ax);
      const listed = await store.listUser('t', userId);
      assert.equal(listed.length, 2);
      assert.ok(listed.every((s) => s.id === '' && s.userId === userId));
      assert.equal(await store.revokeUser('t', userId), 2);
      assert.equal(await store.getCentral(x.id), null);
      assert.equal(await store.getCentral(y.id), null);
      assert.equal(await store.getApp(ax.id), null);
      assert.ok(await store.getCentral(other.id), 'another user keeps their session');
      assert.deepEqual(await store.listUser('t', userId), []);
    } finally {
      await store.close();
    }
  });

  it('sessions ended on purpose are announced, and their app sessions remember why', async () => {
    const t = Date.now();
    const store = make(Date.now);
    const heard: SessionsEnded[] = [];
    const off = store.onEnded((e) => heard.push(e));
    try {
      // Redis: the subscription is made on the first listener; let it settle before publishing.
      await new Promise((r) => setTimeout(r, 100));
      const userId = unique();
      const x = central({ userId, createdAt: t, lastSeenAt: t });
      const y = central({ userId, createdAt: t, lastSeenAt: t });
      const ax = app(x);
      const ay = app(y);
      const quiet = central({ createdAt: t, lastSeenAt: t });
      const aq = app(quiet);
      for (const s of [x, y, quiet]) await store.putCentral(s);
      for (const s of [ax, ay, aq]) await store.putApp(s);
      await store.deleteCentral(x.id, 'DB-SESSION-SIGNED-OUT');
      await store.deleteCentral(quiet.id);
      assert.equal(await store.getApp(ax.id), null);
      assert.equal(await store.endReason(ax.id), 'DB-SESSION-SIGNED-OUT');
      assert.equal(await store.endReason(aq.id), null, 'an ending without a reason is not remembered');
      assert.equal(await store.endReason(ay.id), null, 'a live session has no end reason');
      await store.revokeUser('t', userId);
      assert.equal(await store.endReason(ay.id), 'DB-SESSION-REVOKED');
      for (let i = 0; i < 100 && heard.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(heard, [
        { tenantId: 't', userId, centralKey: heard[0]?.centralKey ?? 'missing', reason: 'DB-SESSION-SIGNED-OUT' },
        { tenantId: 't', userId, centralKey: null, reason: 'DB-SESSION-REVOKED' },
      ]);
      assert.equal(typeof heard[0].centralKey, 'string');
      assert.notEqual(heard[0].centralKey, x.id, 'the central session is named by its digest, never its id');
    } finally {
      off();
      await store.close();
    }
  });
}
