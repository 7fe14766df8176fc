/**
 * Where sessions live decides what an edge restart does to signed-in users: with Redis (real, 127.0.0.1:6379)
 * they carry on, and a sign-out or revocation made by one edge node holds on the others; with the memory store a
 * restart signs everyone out. The sign-in service really restarts (closed, then created anew on the same state).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisSessionStore } from '../../src/edge/signin/redis-sessions.ts';
import { Client, signIn, startHarness, type Harness } from './identity-harness.ts';
import { REDIS_URL, dropRedisKeys } from '../helpers/redis.ts';

describe('identity: sessions across an edge restart', () => {
  const prefix = `drawbridge-test-${randomBytes(6).toString('hex')}:`;
  const redisSessions = () => createRedisSessionStore({ url: REDIS_URL, keyPrefix: prefix });
  const harnesses: Harness[] = [];
  after(async () => {
    for (const h of harnesses) await h.close();
    await dropRedisKeys(prefix);
  });
  const open = async (h: Harness, c: Client) => c.request(`${h.hr.externalUrl}/pay`);
  const password = (h: Harness, name: string) => h.users.find((u) => u.username === name)!.password;

  it('Redis: alice stays signed in through a restart; her sign-out after it ends the session for good', async () => {
    const h = await startHarness({ sessions: redisSessions() });
    harnesses.push(h);
    const alice = new Client(h.port);
    assert.equal((await signIn(alice, `${h.hr.externalUrl}/pay`, 'alice', password(h, 'alice'))).status, 200);

    await h.restartSignin({ sessions: redisSessions() });
    const after = await open(h, alice);
    assert.equal(after.status, 200, `still signed in after the restart (got ${after.status} → ${after.location})`);
    assert.match(after.body, /Hello, Alice Archer/);

    // Signed out through the restarted service: the session ends in Redis, so its cookie, replayed after a further
    // restart, opens nothing.
    const hrHost = new URL(h.hr.externalUrl).hostname;
    const saved = new Map(alice.cookies(hrHost));
    assert.ok(saved.size > 0);
    const signout = await alice.follow(`${h.hr.externalUrl}/.drawbridge/auth/signout`);
    assert.equal(signout.status, 200);
    await h.restartSignin({ sessions: redisSessions() });
    const replay = new Client(h.port);
    for (const [k, v] of saved) replay.cookies(hrHost).set(k, v);
    assert.equal((await open(h, replay)).status, 302, 'the signed-out session is not accepted again');
  });

  it('Redis: an admin revocation made by one node holds on the next', async () => {
    const h = await startHarness({ sessions: redisSessions() });
    harnesses.push(h);
    const alice = new Client(h.port);
    assert.equal((await signIn(alice, `${h.hr.externalUrl}/pay`, 'alice', password(h, 'alice'))).status, 200);
    const user = await h.directory.users.findByLogin(h.tenant.id, 'alice');
    assert.equal(await h.signin.revokeUser(h.tenant.id, user!.id), 1);
    await h.restartSignin({ sessions: redisSessions() });
    assert.equal((await open(h, alice)).status, 302);
  });

  it('memory: a restart signs everyone out (the embedded default, documented)', async () => {
    const h = await startHarness();
    harnesses.push(h);
    const alice = new Client(h.port);
    assert.equal((await signIn(alice, `${h.hr.externalUrl}/pay`, 'alice', password(h, 'alice'))).status, 200);
    await h.restartSignin();
    assert.equal((await open(h, alice)).status, 302);
  });
});
