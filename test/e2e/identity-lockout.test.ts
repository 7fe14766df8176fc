/**
 * Smart lockout end to end (issue 9): a lock tells nothing about whether a name exists, an attacker elsewhere cannot
 * lock a user out of the network they sign in from, and a lock is a fixed period. Clients pick their loopback source
 * address; the edge's clock is the test's, so lock periods pass without waiting.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client, signIn, startHarness, type Harness } from './identity-harness.ts';

let h: Harness;
let clock = Date.now();
const hrUrl = () => `${h.hr.externalUrl}/pay`;
const alicePassword = () => h.users.find((u) => u.username === 'alice')!.password;
const from = (localAddress: string) => new Client(h.port, { localAddress });
const codeOf = (body: string) => /DB-[A-Z]+(?:-[A-Z]+)+/.exec(body)?.[0] ?? null;
/** The page without what legitimately differs per browser and per name typed (hidden tokens, the echoed name). */
const shape = (body: string) =>
  body
    .replace(/value="[^"]*"/g, '')
    .replace(/state=[^"&]*/g, '')
    .replace(/corr-[a-z0-9]+/g, '');

before(async () => {
  h = await startHarness({ now: () => clock });
});
after(async () => {
  await h?.close();
});

describe('identity: smart lockout', () => {
  it('an unknown name and a real one get the same answers through 10 failures', async () => {
    await h.directory.users.create(h.tenant.id, { upn: 'ivan@contoso.example', password: 'ivan-Password-1' });
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      const real = await signIn(from('127.0.0.21'), hrUrl(), 'ivan', `wrong-${i}`);
      const unknown = await signIn(from('127.0.0.22'), hrUrl(), 'nobody-by-this-name', `wrong-${i}`);
      assert.equal(unknown.status, real.status, `failure ${i + 1}`);
      assert.equal(codeOf(unknown.body), codeOf(real.body), `failure ${i + 1}`);
      assert.equal(shape(unknown.body), shape(real.body), `failure ${i + 1}`);
      seen.push(codeOf(real.body) ?? '');
    }
    assert.deepEqual(
      seen.slice(3, 6),
      ['DB-SIGNIN-BAD-CREDENTIALS', 'DB-SIGNIN-LOCKED-OUT', 'DB-SIGNIN-LOCKED-OUT'],
      'both lock at the fifth failure',
    );
    // The name typed another way (`…@domain`) is the same count, as it is for a real account.
    const aliased = await signIn(from('127.0.0.22'), hrUrl(), 'nobody-by-this-name@contoso.example', 'x');
    assert.equal(codeOf(aliased.body), 'DB-SIGNIN-LOCKED-OUT');
  });

  it('a stranger elsewhere, even with one wrong password every lock period, does not stop alice at her familiar address', async () => {
    const home = '127.0.0.1';
    const attacker = '127.0.0.9';
    assert.match((await signIn(from(home), hrUrl(), 'alice', alicePassword())).body, /Hello, Alice Archer/);
    let last;
    for (let i = 0; i < 5; i++) last = await signIn(from(attacker), hrUrl(), 'alice', `guess-${i}`);
    assert.equal(codeOf(last!.body), 'DB-SIGNIN-LOCKED-OUT', 'the attacker locks himself out');
    const atHome = await signIn(from(home), hrUrl(), 'alice', alicePassword());
    assert.equal(atHome.status, 200, atHome.body);
    assert.match(atHome.body, /Hello, Alice Archer/);
    for (let period = 1; period <= 4; period++) {
      clock += 61_000;
      const guess = await signIn(from(attacker), hrUrl(), 'alice', `later-guess-${period}`);
      assert.equal(
        codeOf(guess.body),
        'DB-SIGNIN-BAD-CREDENTIALS',
        `period ${period}: one failure after the lock does not lock again`,
      );
      const again = await signIn(from(home), hrUrl(), 'alice', alicePassword());
      assert.match(again.body, /Hello, Alice Archer/, `period ${period}`);
    }
  });

  it('a burst from one unfamiliar address still locks, even the right password, for a fixed period; then it succeeds', async () => {
    const stranger = '127.0.0.11';
    for (let i = 0; i < 5; i++) await signIn(from(stranger), hrUrl(), 'alice', `burst-${i}`);
    for (let i = 0; i < 5; i++) await signIn(from(stranger), hrUrl(), 'nobody-else', `burst-${i}`);
    for (const name of ['alice', 'nobody-else']) {
      const locked = await signIn(from(stranger), hrUrl(), name, name === 'alice' ? alicePassword() : 'whatever');
      assert.equal(locked.status, 403, name);
      assert.match(locked.body, /DB-SIGNIN-LOCKED-OUT/, name);
      assert.match(locked.body, /locked for 1 more minute/, name);
    }
    // Every unfamiliar address shares the lock.
    assert.equal(
      codeOf((await signIn(from('127.0.0.12'), hrUrl(), 'alice', alicePassword())).body),
      'DB-SIGNIN-LOCKED-OUT',
    );
    // More attempts during the lock do not lengthen it: just after the period the right password works.
    clock += 30_000;
    for (let i = 0; i < 5; i++) await signIn(from(stranger), hrUrl(), 'alice', `during-${i}`);
    clock += 31_000;
    assert.match((await signIn(from(stranger), hrUrl(), 'alice', alicePassword())).body, /Hello, Alice Archer/);
  });

  it("a burst from alice's familiar address locks that address too", async () => {
    const home = '127.0.0.1';
    let last;
    for (let i = 0; i < 5; i++) last = await signIn(from(home), hrUrl(), 'alice', `typo-${i}`);
    assert.equal(codeOf(last!.body), 'DB-SIGNIN-LOCKED-OUT');
    assert.equal(codeOf((await signIn(from(home), hrUrl(), 'alice', alicePassword())).body), 'DB-SIGNIN-LOCKED-OUT');
    clock += 61_000;
    assert.match((await signIn(from(home), hrUrl(), 'alice', alicePassword())).body, /Hello, Alice Archer/);
  });
});
