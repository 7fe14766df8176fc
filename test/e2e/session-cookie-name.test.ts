/**
 * One rule decides a cookie's name for both reading Drawbridge's cookies and stripping them before the backend: a
 * session cookie written `__Host-drawbridge-session =…` (a space before '=') used to be read as the session (the
 * parser trimmed names) and forwarded to the backend (the stripper matched `name=` exactly).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { APP_COOKIE } from '../../src/edge/signin/cookies.ts';
import { Client, signIn, startHarness, type Harness } from './identity-harness.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h?.close();
});

describe("the session cookie's name", () => {
  it('a session cookie with a space before "=" is neither accepted as the session nor forwarded to the backend', async () => {
    const alice = new Client(h.port);
    const signedIn = await signIn(
      alice,
      `${h.hr.externalUrl}/`,
      'alice',
      h.users.find((u) => u.username === 'alice')!.password,
    );
    assert.equal(signedIn.status, 200);
    const session = alice.cookies(h.hr.externalHost).get(APP_COOKIE)!;
    assert.ok(session);
    const open = (cookie: string) => new Client(h.port).request(`${h.hr.externalUrl}/pay`, { headers: { cookie } });

    for (const cookie of [
      `${APP_COOKIE} =${session}`,
      `${APP_COOKIE}\t=${session}`,
      `theme=dark; ${APP_COOKIE} =${session}`,
    ]) {
      h.lastBackend = null;
      const res = await open(cookie);
      assert.equal(res.status, 302, `${JSON.stringify(cookie)} is not a session: off to sign in`);
      assert.match(res.location ?? '', /\/authorize\?state=/);
      assert.equal(h.lastBackend, null, 'nothing reached the backend');
    }

    // With the real session alongside, the malformed copy (and any spelling of ours) is stripped; the app's own stay.
    h.lastBackend = null;
    const res = await open(`theme=dark; ${APP_COOKIE}=${session}; ${APP_COOKIE} =${session}; lang=en`);
    assert.equal(res.status, 200);
    assert.equal(h.lastBackend!.cookie, 'theme=dark; lang=en');
  });
});
