/**
 * The directory contract suite: every store's `directory` runs it (sqlite/sqlite.test.ts, postgres/postgres.test.ts),
 * as `contract.ts` does for the rest of `Store`. It pins what sign-in and the admin API rely on beyond the types:
 * normalised UPNs and logins, seat counting, assignment through groups, one-time TOTP steps and recovery codes,
 * sealed secrets that read back, sign-in log filters and paging, and that nothing crosses tenants.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { rejectsWith } from './contract.ts';
import type { DirectoryStore, SigninLogEntry, User } from './directory-types.ts';
import type { App, ChangeEvent, Store, Tenant } from './types.ts';

const FAR = '2099-01-01T00:00:00.000Z';

type NewEntry = Parameters<DirectoryStore['signinLog']['append']>[0];

export function runDirectoryContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`directory contract: ${name}`, () => {
    let store: Store;
    let dir: DirectoryStore;
    let a: Tenant;
    let b: Tenant;
    let appA: App;
    let appB: App;

    beforeEach(async () => {
      store = await makeStore();
      dir = store.directory;
      a = await store.tenants.create({ name: 'contoso' });
      b = await store.tenants.create({ name: 'fabrikam' });
      const ga = await store.groups.create(a.id, { name: 'default' });
      const gb = await store.groups.create(b.id, { name: 'default' });
      const app = (groupId: string, host: string) => ({
        name: 'hr',
        groupId,
        externalUrl: `https://${host}`,
        internalUrl: 'http://hr.corp:8080',
        preAuth: 'idp' as const,
      });
      appA = await store.apps.create(a.id, app(ga.id, 'hr.contoso.example'));
      appB = await store.apps.create(b.id, app(gb.id, 'hr.fabrikam.example'));
    });
    afterEach(async () => {
      await store.close();
    });

    const user = (
      tenantId: string,
      upn: string,
      extra: Partial<Parameters<DirectoryStore['users']['create']>[1]> = {},
    ) => dir.users.create(tenantId, { upn, ...extra });
    const entry = (tenantId: string, extra: Partial<NewEntry> = {}): NewEntry => ({
      tenantId,
      event: 'signin',
      userId: null,
      username: 'alice',
      appId: null,
      clientIp: '192.0.2.1',
      userAgent: 'Mozilla/5.0',
      result: 'success',
      code: null,
      authMethod: 'password',
      mfaMethod: null,
      correlationId: null,
      detail: {},
      ...extra,
    });

    describe('users', () => {
      it('creates users with normalised UPNs and defaults, unique per tenant only', async () => {
        const alice = await user(a.id, '  Alice@Contoso.Example ');
        assert.match(alice.id, /^usr_[0-9a-f]{16}$/);
        assert.equal(alice.tenantId, a.id);
        assert.equal(alice.upn, 'alice@contoso.example');
        assert.equal(alice.displayName, 'alice');
        assert.equal(alice.email, null);
        assert.equal(alice.onPremName, null);
        assert.equal(alice.enabled, true);
        assert.equal(alice.source, 'local');
        assert.equal(alice.hasPassword, false);
        assert.equal(alice.failedCount, 0);
        assert.equal(alice.lockedUntil, null);
        assert.equal(alice.lastSignInAt, null);
        assert.ok(!Number.isNaN(Date.parse(alice.createdAt)) && !Number.isNaN(Date.parse(alice.updatedAt)));
        assert.deepEqual(await dir.users.get(a.id, alice.id), alice);
        const bob = await user(a.id, 'bob', {
          displayName: 'Bob B',
          email: 'bob@contoso.example',
          onPremName: 'BOB',
          enabled: false,
          source: 'oidc',
        });
        assert.deepEqual(
          [bob.displayName, bob.email, bob.onPremName, bob.enabled, bob.source],
          ['Bob B', 'bob@contoso.example', 'BOB', false, 'oidc'],
        );
        await rejectsWith(user(a.id, 'ALICE@contoso.example'), 'DB-ADMIN-CONFLICT');
        assert.equal((await user(b.id, 'alice@contoso.example')).tenantId, b.id);
        for (const bad of ['', 'with space', 'a@b@c', 'x'.repeat(255)])
          await rejectsWith(user(a.id, bad), 'DB-ADMIN-INVALID');
        assert.equal(await dir.users.get(a.id, 'usr_0000000000000000'), null);
      });

      it('finds a user by UPN or by the unique part before @, case-insensitively', async () => {
        const alice = await user(a.id, 'alice@contoso.example');
        await user(a.id, 'bob@contoso.example');
        await user(a.id, 'bob@fabrikam.example');
        const carol = await user(a.id, 'carol');
        assert.equal((await dir.users.findByLogin(a.id, ' ALICE@contoso.example '))?.id, alice.id);
        assert.equal((await dir.users.findByLogin(a.id, 'Alice'))?.id, alice.id);
        assert.equal((await dir.users.findByLogin(a.id, 'carol'))?.id, carol.id);
        assert.equal(await dir.users.findByLogin(a.id, 'bob'), null, 'ambiguous');
        assert.equal(await dir.users.findByLogin(a.id, 'alice@other.example'), null);
        assert.equal(await dir.users.findByLogin(a.id, 'ali'), null);
        assert.equal(await dir.users.findByLogin(a.id, '%'), null);
        assert.equal(await dir.users.findByLogin(a.id, ''), null);
        assert.equal(await dir.users.findByLogin(a.id, 'x'.repeat(300)), null);
        assert.equal(await dir.users.findByLogin(b.id, 'alice'), null);
      });

      it('lists by UPN, searches UPN and display name, and pages with a cursor', async () => {
        for (const n of ['dave', 'carol', 'alice', 'erin', 'bob'])
          await user(a.id, `${n}@contoso.example`, { displayName: n === 'erin' ? 'Erin Zed' : n });
        await user(b.id, 'zoe@fabrikam.example');
        const all = await dir.users.list(a.id);
        assert.deepEqual(
          all.items.map((u) => u.upn.split('@')[0]),
          ['alice', 'bob', 'carol', 'dave', 'erin'],
        );
        assert.equal(all.next, null);
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 5; page++) {
          const p = await dir.users.list(a.id, { limit: 2, cursor });
          assert.ok(p.items.length <= 2);
          seen.push(...p.items.map((u) => u.upn));
          if (!p.next) break;
          cursor = p.next;
        }
        assert.deepEqual(
          seen,
          all.items.map((u) => u.upn),
        );
        assert.deepEqual(
          (await dir.users.list(a.id, { search: 'ZED' })).items.map((u) => u.upn),
          ['erin@contoso.example'],
        );
        assert.deepEqual(
          (await dir.users.list(a.id, { search: 'car' })).items.map((u) => u.upn),
          ['carol@contoso.example'],
        );
        assert.deepEqual(
          (await dir.users.list(b.id)).items.map((u) => u.upn),
          ['zoe@fabrikam.example'],
        );
      });

      it('updates only the patched fields and refuses unknown users', async () => {
        const alice = await user(a.id, 'alice', { email: 'a@x.example', onPremName: 'alice' });
        const updated = await dir.users.update(a.id, alice.id, { displayName: 'Alice A', email: null });
        assert.deepEqual(
          [updated.displayName, updated.email, updated.onPremName, updated.enabled],
          ['Alice A', null, 'alice', true],
        );
        assert.ok(updated.updatedAt >= alice.updatedAt);
        assert.equal((await dir.users.update(a.id, alice.id, { enabled: false })).enabled, false);
        assert.equal((await dir.users.get(a.id, alice.id))?.displayName, 'Alice A');
        await rejectsWith(dir.users.update(a.id, 'usr_0000000000000000', { enabled: false }), 'DB-ADMIN-NOT-FOUND');
      });

      it('keeps a password only as a hash, and clears lockout when it is set', async () => {
        const alice = await user(a.id, 'alice', { password: 'correct horse battery staple' });
        assert.equal(alice.hasPassword, true);
        const hash = await dir.users.passwordHash(a.id, alice.id);
        assert.match(hash ?? '', /^\$argon2id\$/);
        assert.ok(!hash?.includes('correct horse'));
        await dir.users.setLockout(a.id, alice.id, { failedCount: 5, lockedUntil: FAR });
        let u = (await dir.users.get(a.id, alice.id)) as User;
        assert.deepEqual([u.failedCount, u.lockedUntil], [5, FAR]);
        await dir.users.setPassword(a.id, alice.id, 'another long password');
        u = (await dir.users.get(a.id, alice.id)) as User;
        assert.deepEqual([u.failedCount, u.lockedUntil, u.hasPassword], [0, null, true]);
        assert.notEqual(await dir.users.passwordHash(a.id, alice.id), hash);
        await dir.users.setPasswordHash(a.id, alice.id, '$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA');
        assert.equal(await dir.users.passwordHash(a.id, alice.id), '$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA');
        await dir.users.setPassword(a.id, alice.id, null);
        assert.equal(await dir.users.passwordHash(a.id, alice.id), null);
        assert.equal((await dir.users.get(a.id, alice.id))?.hasPassword, false);
        await rejectsWith(dir.users.setPassword(a.id, 'usr_0000000000000000', null), 'DB-ADMIN-NOT-FOUND');
      });

      it('records a sign-in, which clears the failure count', async () => {
        const alice = await user(a.id, 'alice');
        await dir.users.setLockout(a.id, alice.id, { failedCount: 2, lockedUntil: null });
        const at = '2030-05-06T07:08:09.123Z';
        await dir.users.recordSignIn(a.id, alice.id, at);
        const u = (await dir.users.get(a.id, alice.id)) as User;
        assert.deepEqual([u.lastSignInAt, u.failedCount, u.lockedUntil], [at, 0, null]);
      });

      it('links federated identities, once per (issuer, subject), within the tenant', async () => {
        const alice = await user(a.id, 'alice');
        const bob = await user(a.id, 'bob');
        await dir.users.linkExternal(a.id, alice.id, 'https://idp.example', 'sub-1');
        assert.equal((await dir.users.findByExternal(a.id, 'https://idp.example', 'sub-1'))?.id, alice.id);
        assert.equal(await dir.users.findByExternal(a.id, 'https://other.example', 'sub-1'), null);
        assert.equal(await dir.users.findByExternal(b.id, 'https://idp.example', 'sub-1'), null);
        await rejectsWith(dir.users.linkExternal(a.id, bob.id, 'https://idp.example', 'sub-1'), 'DB-ADMIN-CONFLICT');
        await dir.users.linkExternal(a.id, alice.id, 'https://other.example', 'sub-9', 'other');
        assert.deepEqual(await dir.users.externalLinks(a.id, alice.id), [
          { issuer: 'https://idp.example', subject: 'sub-1', providerId: null },
          { issuer: 'https://other.example', subject: 'sub-9', providerId: 'other' },
        ]);
        assert.deepEqual(await dir.users.externalLinks(a.id, bob.id), []);
        await dir.users.delete(a.id, alice.id);
        assert.equal(
          await dir.users.findByExternal(a.id, 'https://idp.example', 'sub-1'),
          null,
          'the link goes with the user',
        );
      });

      it('deletes a user with their memberships and assignments', async () => {
        const alice = await user(a.id, 'alice');
        const g = await dir.groups.create(a.id, { name: 'staff' });
        await dir.groups.addMember(a.id, g.id, alice.id);
        await dir.licences.setSeats(a.id, 'basic', 1);
        await dir.licences.assign(a.id, 'basic', { type: 'user', id: alice.id });
        await dir.assignments.assign(a.id, appA.id, { type: 'user', id: alice.id });
        await dir.users.delete(a.id, alice.id);
        assert.equal(await dir.users.get(a.id, alice.id), null);
        assert.deepEqual(await dir.groups.members(a.id, g.id), []);
        assert.deepEqual(await dir.licences.assignments(a.id), []);
        assert.deepEqual(await dir.assignments.list(a.id, appA.id), []);
        assert.equal((await dir.licences.list(a.id))[0].used, 0);
        await rejectsWith(dir.users.delete(a.id, alice.id), 'DB-ADMIN-NOT-FOUND');
      });

      it("tenant B can neither read nor change tenant A's users", async () => {
        const alice = await user(a.id, 'alice', { password: 'correct horse battery staple' });
        assert.equal(await dir.users.get(b.id, alice.id), null);
        assert.equal(await dir.users.passwordHash(b.id, alice.id), null);
        await rejectsWith(dir.users.update(b.id, alice.id, { enabled: false }), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(dir.users.delete(b.id, alice.id), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(dir.users.setPassword(b.id, alice.id, null), 'DB-ADMIN-NOT-FOUND');
        await dir.users.setPasswordHash(b.id, alice.id, 'x');
        await dir.users.setLockout(b.id, alice.id, { failedCount: 9, lockedUntil: FAR });
        await dir.users.recordSignIn(b.id, alice.id, FAR);
        const u = (await dir.users.get(a.id, alice.id)) as User;
        assert.deepEqual(
          [u.enabled, u.hasPassword, u.failedCount, u.lockedUntil, u.lastSignInAt],
          [true, true, 0, null, null],
        );
        assert.match((await dir.users.passwordHash(a.id, alice.id)) ?? '', /^\$argon2id\$/);
        await rejectsWith(dir.users.linkExternal(b.id, alice.id, 'https://idp.example', 'sub-1'), 'DB-ADMIN-NOT-FOUND');
        assert.equal(await dir.users.findByExternal(b.id, 'https://idp.example', 'sub-1'), null);
      });
    });

    describe('groups', () => {
      it('creates groups with unique names per tenant, and finds them by id and name', async () => {
        const staff = await dir.groups.create(a.id, { name: ' Staff ', description: 'Everyone' });
        assert.match(staff.id, /^ugr_[0-9a-f]{16}$/);
        assert.deepEqual(
          [staff.name, staff.description, staff.externalId, staff.tenantId],
          ['Staff', 'Everyone', null, a.id],
        );
        const admins = await dir.groups.create(a.id, { name: 'Admins', externalId: 'ext-1' });
        assert.deepEqual([admins.description, admins.externalId], ['', 'ext-1']);
        await rejectsWith(dir.groups.create(a.id, { name: 'Staff' }), 'DB-ADMIN-CONFLICT');
        await rejectsWith(dir.groups.create(a.id, { name: '  ' }), 'DB-ADMIN-INVALID');
        await rejectsWith(dir.groups.create(a.id, { name: 'x'.repeat(257) }), 'DB-ADMIN-INVALID');
        assert.equal((await dir.groups.create(b.id, { name: 'Staff' })).tenantId, b.id);
        assert.deepEqual(await dir.groups.get(a.id, staff.id), staff);
        assert.deepEqual(await dir.groups.getByName(a.id, 'Staff'), staff);
        assert.equal(await dir.groups.getByName(a.id, 'nobody'), null);
        assert.deepEqual(
          (await dir.groups.list(a.id)).map((g) => g.name),
          ['Admins', 'Staff'],
        );
      });

      it('adds and removes members (idempotently) and lists both directions', async () => {
        const alice = await user(a.id, 'alice');
        const bob = await user(a.id, 'bob');
        const staff = await dir.groups.create(a.id, { name: 'staff' });
        const admins = await dir.groups.create(a.id, { name: 'admins' });
        await dir.groups.addMember(a.id, staff.id, bob.id);
        await dir.groups.addMember(a.id, staff.id, alice.id);
        await dir.groups.addMember(a.id, staff.id, alice.id);
        await dir.groups.addMember(a.id, admins.id, alice.id);
        assert.deepEqual(
          (await dir.groups.members(a.id, staff.id)).map((u) => u.upn),
          ['alice', 'bob'],
        );
        assert.deepEqual(
          (await dir.groups.forUser(a.id, alice.id)).map((g) => g.name),
          ['admins', 'staff'],
        );
        await dir.groups.removeMember(a.id, staff.id, alice.id);
        await dir.groups.removeMember(a.id, staff.id, alice.id);
        assert.deepEqual(
          (await dir.groups.members(a.id, staff.id)).map((u) => u.upn),
          ['bob'],
        );
        await rejectsWith(dir.groups.addMember(a.id, staff.id, 'usr_0000000000000000'), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(dir.groups.addMember(a.id, 'ugr_0000000000000000', alice.id), 'DB-ADMIN-NOT-FOUND');
      });

      it('deletes a group with its memberships and assignments', async () => {
        const alice = await user(a.id, 'alice');
        const staff = await dir.groups.create(a.id, { name: 'staff' });
        await dir.groups.addMember(a.id, staff.id, alice.id);
        await dir.licences.setSeats(a.id, 'premium', 5);
        await dir.licences.assign(a.id, 'premium', { type: 'group', id: staff.id });
        await dir.assignments.assign(a.id, appA.id, { type: 'group', id: staff.id });
        await dir.groups.delete(a.id, staff.id);
        assert.equal(await dir.groups.get(a.id, staff.id), null);
        assert.deepEqual(await dir.groups.forUser(a.id, alice.id), []);
        assert.deepEqual(await dir.licences.assignments(a.id), []);
        assert.deepEqual(await dir.assignments.list(a.id, appA.id), []);
        assert.equal(await dir.assignments.isAssigned(a.id, appA.id, alice.id), false);
        await rejectsWith(dir.groups.delete(a.id, staff.id), 'DB-ADMIN-NOT-FOUND');
      });

      it('syncs federated memberships: creates, adopts by name, renames on a clash, drops stale ones, keeps local groups', async () => {
        const alice = await user(a.id, 'alice');
        const local = await dir.groups.create(a.id, { name: 'local' });
        const adopted = await dir.groups.create(a.id, { name: 'Engineering' });
        await dir.groups.create(a.id, { name: 'Sales', externalId: 'other-sales' });
        await dir.groups.addMember(a.id, local.id, alice.id);
        await dir.groups.syncExternal(a.id, alice.id, [
          { externalId: 'eng', name: 'Engineering' },
          { externalId: 'sales', name: 'Sales' },
          { externalId: 'ops', name: 'Ops' },
        ]);
        const mine = await dir.groups.forUser(a.id, alice.id);
        assert.deepEqual(
          mine.map((g) => [g.name, g.externalId]),
          [
            ['Engineering', 'eng'],
            ['Ops', 'ops'],
            ['Sales (sales)', 'sales'],
            ['local', null],
          ],
        );
        assert.equal(mine.find((g) => g.externalId === 'eng')?.id, adopted.id);
        assert.equal((await dir.groups.getByName(a.id, 'Ops'))?.description, 'From the identity provider');
        await dir.groups.syncExternal(a.id, alice.id, [{ externalId: 'ops', name: 'Ops renamed upstream' }]);
        assert.deepEqual(
          (await dir.groups.forUser(a.id, alice.id)).map((g) => g.name),
          ['Ops', 'local'],
        );
        await dir.groups.syncExternal(a.id, alice.id, []);
        assert.deepEqual(
          (await dir.groups.forUser(a.id, alice.id)).map((g) => g.name),
          ['local'],
        );
        assert.deepEqual(await dir.groups.list(b.id), [], 'nothing reaches the other tenant');
      });

      it("tenant B can neither read, join nor delete tenant A's groups", async () => {
        const alice = await user(a.id, 'alice');
        const bob = await user(b.id, 'bob');
        const staff = await dir.groups.create(a.id, { name: 'staff' });
        await dir.groups.addMember(a.id, staff.id, alice.id);
        assert.equal(await dir.groups.get(b.id, staff.id), null);
        assert.equal(await dir.groups.getByName(b.id, 'staff'), null);
        assert.deepEqual(await dir.groups.members(b.id, staff.id), []);
        assert.deepEqual(await dir.groups.forUser(b.id, alice.id), []);
        await rejectsWith(dir.groups.addMember(b.id, staff.id, bob.id), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(dir.groups.addMember(a.id, staff.id, bob.id), 'DB-ADMIN-NOT-FOUND');
        await dir.groups.removeMember(b.id, staff.id, alice.id);
        await rejectsWith(dir.groups.delete(b.id, staff.id), 'DB-ADMIN-NOT-FOUND');
        assert.deepEqual(
          (await dir.groups.members(a.id, staff.id)).map((u) => u.id),
          [alice.id],
        );
        await dir.groups.syncExternal(b.id, alice.id, []);
        assert.deepEqual(
          (await dir.groups.forUser(a.id, alice.id)).map((g) => g.id),
          [staff.id],
        );
      });
    });

    describe('licences', () => {
      it('sets and resizes seat pools, and counts distinct holders directly and through groups', async () => {
        const [alice, bob, carol] = [await user(a.id, 'alice'), await user(a.id, 'bob'), await user(a.id, 'carol')];
        assert.deepEqual(await dir.licences.setSeats(a.id, 'basic', 3), {
          tenantId: a.id,
          sku: 'basic',
          seats: 3,
          used: 0,
        });
        const staff = await dir.groups.create(a.id, { name: 'staff' });
        await dir.groups.addMember(a.id, staff.id, alice.id);
        await dir.groups.addMember(a.id, staff.id, bob.id);
        const direct = await dir.licences.assign(a.id, 'basic', { type: 'user', id: alice.id });
        assert.deepEqual(
          [direct.tenantId, direct.sku, direct.principal],
          [a.id, 'basic', { type: 'user', id: alice.id }],
        );
        await dir.licences.assign(a.id, 'basic', { type: 'group', id: staff.id });
        await dir.licences.assign(a.id, 'basic', { type: 'group', id: staff.id });
        assert.deepEqual(await dir.licences.list(a.id), [{ tenantId: a.id, sku: 'basic', seats: 3, used: 2 }]);
        await dir.licences.setSeats(a.id, 'premium', 1);
        await dir.licences.assign(a.id, 'premium', { type: 'user', id: carol.id });
        assert.deepEqual(
          (await dir.licences.list(a.id)).map((l) => [l.sku, l.seats, l.used]),
          [
            ['basic', 3, 2],
            ['premium', 1, 1],
          ],
        );
        assert.deepEqual((await dir.licences.setSeats(a.id, 'basic', 10)).used, 2);
        assert.deepEqual((await dir.licences.assignments(a.id, 'basic')).map((x) => x.principal.type).sort(), [
          'group',
          'user',
        ]);
        assert.deepEqual(
          (await dir.licences.assignments(a.id)).map((x) => x.sku),
          ['basic', 'basic', 'premium'],
        );
        await dir.licences.unassign(a.id, 'basic', { type: 'group', id: staff.id });
        assert.deepEqual(
          (await dir.licences.assignments(a.id, 'basic')).map((x) => x.principal),
          [{ type: 'user', id: alice.id }],
        );
        assert.deepEqual(await dir.licences.list(b.id), []);
      });

      it('refuses unknown SKUs, bad seat counts, missing pools and principals, and assignments beyond the seats', async () => {
        const [alice, bob] = [await user(a.id, 'alice'), await user(a.id, 'bob')];
        await rejectsWith(dir.licences.setSeats(a.id, 'gold' as never, 1), 'DB-ADMIN-INVALID');
        await rejectsWith(dir.licences.setSeats(a.id, 'basic', -1), 'DB-ADMIN-INVALID');
        await rejectsWith(dir.licences.setSeats(a.id, 'basic', 1.5), 'DB-ADMIN-INVALID');
        await rejectsWith(dir.licences.assign(a.id, 'basic', { type: 'user', id: alice.id }), 'DB-ADMIN-NOT-FOUND');
        await dir.licences.setSeats(a.id, 'basic', 1);
        await rejectsWith(
          dir.licences.assign(a.id, 'basic', { type: 'user', id: 'usr_0000000000000000' }),
          'DB-ADMIN-NOT-FOUND',
        );
        await rejectsWith(
          dir.licences.assign(a.id, 'basic', { type: 'nobody', id: alice.id } as never),
          'DB-ADMIN-INVALID',
        );
        await dir.licences.assign(a.id, 'basic', { type: 'user', id: alice.id });
        await rejectsWith(dir.licences.assign(a.id, 'basic', { type: 'user', id: bob.id }), 'DB-ADMIN-CONFLICT');
        const both = await dir.groups.create(a.id, { name: 'both' });
        await dir.groups.addMember(a.id, both.id, alice.id);
        await dir.groups.addMember(a.id, both.id, bob.id);
        await rejectsWith(dir.licences.assign(a.id, 'basic', { type: 'group', id: both.id }), 'DB-ADMIN-CONFLICT');
        assert.deepEqual(
          (await dir.licences.assignments(a.id)).map((x) => x.principal.id),
          [alice.id],
          'the refused assignment left nothing behind',
        );
      });

      it("tenant B cannot use tenant A's pools or principals", async () => {
        const alice = await user(a.id, 'alice');
        await dir.licences.setSeats(a.id, 'basic', 5);
        await dir.licences.assign(a.id, 'basic', { type: 'user', id: alice.id });
        await rejectsWith(dir.licences.assign(b.id, 'basic', { type: 'user', id: alice.id }), 'DB-ADMIN-NOT-FOUND');
        await dir.licences.setSeats(b.id, 'basic', 5);
        await rejectsWith(dir.licences.assign(b.id, 'basic', { type: 'user', id: alice.id }), 'DB-ADMIN-NOT-FOUND');
        await dir.licences.unassign(b.id, 'basic', { type: 'user', id: alice.id });
        assert.deepEqual(await dir.licences.assignments(b.id), []);
        assert.equal((await dir.licences.assignments(a.id)).length, 1);
        assert.deepEqual(
          (await dir.licences.list(b.id)).map((l) => l.used),
          [0],
        );
      });
    });

    describe('app assignments', () => {
      it('assigns users and groups, and answers for users directly and through groups', async () => {
        const [alice, bob, carol] = [await user(a.id, 'alice'), await user(a.id, 'bob'), await user(a.id, 'carol')];
        const staff = await dir.groups.create(a.id, { name: 'staff' });
        await dir.groups.addMember(a.id, staff.id, bob.id);
        const direct = await dir.assignments.assign(a.id, appA.id, { type: 'user', id: alice.id });
        assert.deepEqual(
          [direct.tenantId, direct.appId, direct.principal],
          [a.id, appA.id, { type: 'user', id: alice.id }],
        );
        await dir.assignments.assign(a.id, appA.id, { type: 'group', id: staff.id });
        await dir.assignments.assign(a.id, appA.id, { type: 'group', id: staff.id });
        assert.deepEqual((await dir.assignments.list(a.id, appA.id)).map((x) => x.principal.type).sort(), [
          'group',
          'user',
        ]);
        assert.equal(await dir.assignments.isAssigned(a.id, appA.id, alice.id), true);
        assert.equal(await dir.assignments.isAssigned(a.id, appA.id, bob.id), true);
        assert.equal(await dir.assignments.isAssigned(a.id, appA.id, carol.id), false);
        assert.deepEqual(await dir.assignments.appsForUser(a.id, bob.id), [appA.id]);
        assert.deepEqual(await dir.assignments.appsForUser(a.id, carol.id), []);
        await dir.assignments.assign(a.id, appA.id, { type: 'user', id: bob.id });
        assert.deepEqual(
          await dir.assignments.appsForUser(a.id, bob.id),
          [appA.id],
          'once, though assigned twice over',
        );
        await dir.assignments.unassign(a.id, appA.id, { type: 'group', id: staff.id });
        await dir.assignments.unassign(a.id, appA.id, { type: 'user', id: bob.id });
        assert.equal(await dir.assignments.isAssigned(a.id, appA.id, bob.id), false);
        assert.deepEqual(
          (await dir.assignments.list(a.id, appA.id)).map((x) => x.principal.id),
          [alice.id],
        );
      });

      it('refuses unknown apps and principals, and anything across tenants', async () => {
        const alice = await user(a.id, 'alice');
        const bob = await user(b.id, 'bob');
        await rejectsWith(
          dir.assignments.assign(a.id, 'app_0000000000000000', { type: 'user', id: alice.id }),
          'DB-ADMIN-NOT-FOUND',
        );
        await rejectsWith(
          dir.assignments.assign(a.id, appA.id, { type: 'group', id: 'ugr_0000000000000000' }),
          'DB-ADMIN-NOT-FOUND',
        );
        await rejectsWith(
          dir.assignments.assign(a.id, appA.id, { type: 'robot', id: alice.id } as never),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(dir.assignments.assign(a.id, appB.id, { type: 'user', id: alice.id }), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(dir.assignments.assign(b.id, appA.id, { type: 'user', id: bob.id }), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(dir.assignments.assign(a.id, appA.id, { type: 'user', id: bob.id }), 'DB-ADMIN-NOT-FOUND');
        await dir.assignments.assign(a.id, appA.id, { type: 'user', id: alice.id });
        assert.deepEqual(await dir.assignments.list(b.id, appA.id), []);
        assert.equal(await dir.assignments.isAssigned(b.id, appA.id, alice.id), false);
        assert.deepEqual(await dir.assignments.appsForUser(b.id, alice.id), []);
        await dir.assignments.unassign(b.id, appA.id, { type: 'user', id: alice.id });
        assert.equal(await dir.assignments.isAssigned(a.id, appA.id, alice.id), true);
      });
    });

    describe('access change events', () => {
      it('announces every change that may shrink access (continuous access evaluation), and no grant', async () => {
        const alice = await user(a.id, 'alice', { password: 'correct horse battery' });
        const hr = await dir.groups.create(a.id, { name: 'HR' });
        const events: ChangeEvent[] = [];
        const off = store.onChange((e) => events.push(e));
        await dir.groups.addMember(a.id, hr.id, alice.id);
        await dir.licences.setSeats(a.id, 'basic', 5);
        await dir.licences.assign(a.id, 'basic', { type: 'group', id: hr.id });
        await dir.assignments.assign(a.id, appA.id, { type: 'user', id: alice.id });
        assert.deepEqual(events, [], 'grants are not announced');
        await dir.users.update(a.id, alice.id, { enabled: false });
        await dir.users.setPassword(a.id, alice.id, 'another long password');
        await dir.groups.removeMember(a.id, hr.id, alice.id);
        await dir.licences.unassign(a.id, 'basic', { type: 'group', id: hr.id });
        await dir.assignments.unassign(a.id, appA.id, { type: 'user', id: alice.id });
        await dir.groups.delete(a.id, hr.id);
        await dir.users.delete(a.id, alice.id);
        off();
        const u = (op: ChangeEvent['op'] = 'updated'): ChangeEvent => ({
          kind: 'user',
          tenantId: a.id,
          id: alice.id,
          op,
        });
        const g = (op: ChangeEvent['op'] = 'updated'): ChangeEvent => ({
          kind: 'user-group',
          tenantId: a.id,
          id: hr.id,
          op,
        });
        // On PostgreSQL the node hears its own changes at once (and never twice: the NOTIFY echo is dropped).
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(events, [u(), u(), u(), g(), u(), g('deleted'), u('deleted')]);
      });
    });

    describe('security reports', () => {
      const range = { since: '2030-01-01T00:00:00.000Z', until: '2030-01-03T00:00:00.000Z' };
      beforeEach(async () => {
        const at = (day: number, hour: number) => `2030-01-0${day}T${String(hour).padStart(2, '0')}:00:00.000Z`;
        const log = (extra: Partial<NewEntry>) => dir.signinLog.append(entry(a.id, extra));
        await log({ time: at(1, 8), userId: 'usr_alice', username: 'alice', clientIp: '10.0.0.1' });
        await log({
          time: at(1, 9),
          userId: 'usr_alice',
          username: 'alice',
          clientIp: '10.0.0.1',
          event: 'mfa',
          mfaMethod: 'totp',
        });
        await log({
          time: at(1, 9),
          userId: 'usr_alice',
          username: 'alice',
          event: 'access',
          appId: 'app_hr',
          code: null,
        });
        await log({
          time: at(1, 10),
          userId: 'usr_bob',
          username: 'bob',
          event: 'access',
          appId: 'app_hr',
          result: 'denied',
          code: 'DB-ACCESS-NO-LICENCE',
        });
        await log({
          time: at(1, 11),
          userId: 'usr_bob',
          username: 'bob',
          clientIp: '10.0.0.2',
          result: 'failure',
          code: 'DB-SIGNIN-BAD-CREDENTIALS',
        });
        await log({
          time: at(2, 1),
          userId: null,
          username: 'Mallory',
          clientIp: '203.0.113.9',
          result: 'failure',
          code: 'DB-SIGNIN-BAD-CREDENTIALS',
        });
        await log({
          time: at(2, 2),
          userId: null,
          username: 'mallory',
          clientIp: '203.0.113.9',
          result: 'failure',
          code: 'DB-SIGNIN-LOCKED-OUT',
        });
        await log({
          time: at(2, 3),
          userId: 'usr_alice',
          username: 'alice',
          clientIp: '198.51.100.7',
          mfaMethod: 'webauthn',
          detail: { riskSignals: ['new-country'] },
        });
        await log({ time: at(2, 4), userId: 'usr_alice', username: 'alice', event: 'signout' });
        // Outside the window, and another tenant: never counted.
        await log({
          time: at(3, 0),
          userId: 'usr_alice',
          username: 'alice',
          result: 'failure',
          code: 'DB-SIGNIN-LOCKED-OUT',
        });
        await dir.signinLog.append(entry(b.id, { time: at(1, 8), result: 'failure', code: 'DB-SIGNIN-LOCKED-OUT' }));
      });

      it('counts sign-ins per day by result, failures by code and MFA methods, in the window and tenant only', async () => {
        assert.deepEqual(await dir.reports.signinsByDay(a.id, range), [
          { day: '2030-01-01', result: 'failure', count: 1 },
          { day: '2030-01-01', result: 'success', count: 1 },
          { day: '2030-01-02', result: 'failure', count: 2 },
          { day: '2030-01-02', result: 'success', count: 1 },
        ]);
        assert.deepEqual(await dir.reports.failuresByCode(a.id, range), [
          { code: 'DB-SIGNIN-BAD-CREDENTIALS', count: 2 },
          { code: 'DB-ACCESS-NO-LICENCE', count: 1 },
          { code: 'DB-SIGNIN-LOCKED-OUT', count: 1 },
        ]);
        assert.deepEqual(await dir.reports.mfaMethods(a.id, range), [
          { method: 'totp', count: 1 },
          { method: 'webauthn', count: 1 },
        ]);
      });

      it('ranks apps and users, groups attempts by client address, and lists risky sign-ins newest first', async () => {
        assert.deepEqual(await dir.reports.topApps(a.id, range), [
          { appId: 'app_hr', total: 2, allowed: 1, denied: 1 },
        ]);
        assert.deepEqual(
          await dir.reports.topUsers(a.id, range),
          [
            { userId: 'usr_alice', username: 'alice', total: 2, failures: 0 },
            { userId: null, username: 'mallory', total: 2, failures: 2 },
            { userId: 'usr_bob', username: 'bob', total: 1, failures: 1 },
          ],
          'names typed in different case are one unknown user',
        );
        assert.deepEqual(
          (await dir.reports.topUsers(a.id, { ...range, limit: 1 })).map((u) => u.userId),
          ['usr_alice'],
        );
        assert.deepEqual(
          await dir.reports.byClientIp(a.id, range),
          [
            { clientIp: '10.0.0.1', total: 1, failures: 0 },
            { clientIp: '10.0.0.2', total: 1, failures: 1 },
            { clientIp: '198.51.100.7', total: 1, failures: 0 },
            { clientIp: '203.0.113.9', total: 2, failures: 2 },
          ].sort((x, y) => y.total - x.total || x.clientIp.localeCompare(y.clientIp)),
        );
        const risky = await dir.reports.risky(a.id, range);
        assert.deepEqual(
          risky.map((e) => [e.time, e.code, e.detail]),
          [
            ['2030-01-02T03:00:00.000Z', null, { riskSignals: ['new-country'] }],
            ['2030-01-02T02:00:00.000Z', 'DB-SIGNIN-LOCKED-OUT', {}],
          ],
        );
      });
    });

    describe('access decisions', () => {
      it('gives the user, their groups and the SKUs they hold within the seats, in one read', async () => {
        const [alice, bob, carol] = [await user(a.id, 'alice'), await user(a.id, 'bob'), await user(a.id, 'carol')];
        const staff = await dir.groups.create(a.id, { name: 'staff' });
        await dir.groups.addMember(a.id, staff.id, alice.id);
        await dir.groups.addMember(a.id, staff.id, bob.id);
        await dir.licences.setSeats(a.id, 'basic', 2);
        await dir.licences.setSeats(a.id, 'premium', 1);
        await dir.licences.assign(a.id, 'basic', { type: 'group', id: staff.id });
        await dir.licences.assign(a.id, 'premium', { type: 'user', id: alice.id });
        const facts = await dir.access.facts(a.id, alice.id);
        assert.equal(facts?.user.id, alice.id);
        assert.deepEqual(
          facts?.groups.map((g) => g.id),
          [staff.id],
        );
        assert.deepEqual(facts?.skus.slice().sort(), ['basic', 'premium']);
        assert.deepEqual((await dir.access.facts(a.id, carol.id))?.skus, []);
        // A member added later oversubscribes the group's pool: group-based seats stop counting, direct ones stay.
        await dir.groups.addMember(a.id, staff.id, carol.id);
        assert.deepEqual((await dir.access.facts(a.id, bob.id))?.skus, []);
        assert.deepEqual((await dir.access.facts(a.id, alice.id))?.skus, ['premium']);
        assert.equal(await dir.access.facts(a.id, 'usr_0000000000000000'), null);
        assert.equal(await dir.access.facts(b.id, alice.id), null);
      });
    });

    describe('MFA credentials', () => {
      it('keeps a TOTP enrolment, confirms it and accepts each time step once', async () => {
        const alice = await user(a.id, 'alice');
        assert.equal(await dir.mfa.getTotp(a.id, alice.id), null);
        await dir.mfa.setTotp(a.id, alice.id, 'JBSWY3DPEHPK3PXP');
        let totp = await dir.mfa.getTotp(a.id, alice.id);
        assert.deepEqual([totp?.secret, totp?.confirmed, totp?.lastStep], ['JBSWY3DPEHPK3PXP', false, null]);
        assert.deepEqual(await dir.mfa.methods(a.id, alice.id), { totp: false, webauthn: false, recoveryCodes: 0 });
        await dir.mfa.confirmTotp(a.id, alice.id, 1000);
        totp = await dir.mfa.getTotp(a.id, alice.id);
        assert.deepEqual([totp?.confirmed, totp?.lastStep], [true, 1000]);
        assert.equal(await dir.mfa.useTotpStep(a.id, alice.id, 1000), false, 'the confirming step is used');
        assert.equal(await dir.mfa.useTotpStep(a.id, alice.id, 1001), true);
        assert.equal(await dir.mfa.useTotpStep(a.id, alice.id, 1001), false, 'a replay');
        assert.equal(await dir.mfa.useTotpStep(a.id, alice.id, 999), false, 'an older step');
        assert.equal((await dir.mfa.getTotp(a.id, alice.id))?.lastStep, 1001);
        assert.equal((await dir.mfa.methods(a.id, alice.id)).totp, true);
        await dir.mfa.setTotp(a.id, alice.id, 'KRSXG5CTMVRXEZLU', true);
        totp = await dir.mfa.getTotp(a.id, alice.id);
        assert.deepEqual(
          [totp?.secret, totp?.confirmed, totp?.lastStep],
          ['KRSXG5CTMVRXEZLU', true, null],
          'restarting clears the step',
        );
        assert.equal(await dir.mfa.useTotpStep(a.id, 'usr_0000000000000000', 5), false);
      });

      it('accepts one of many racing uses of the same time step', async () => {
        const alice = await user(a.id, 'alice');
        await dir.mfa.setTotp(a.id, alice.id, 'JBSWY3DPEHPK3PXP', true);
        const results = await Promise.all(Array.from({ length: 8 }, () => dir.mfa.useTotpStep(a.id, alice.id, 2000)));
        assert.equal(results.filter(Boolean).length, 1);
      });

      it('keeps recovery codes as given hashes, each usable once, replaced as a set', async () => {
        const alice = await user(a.id, 'alice');
        await dir.mfa.setRecoveryCodes(a.id, alice.id, ['h1', 'h2', 'h3', 'h3']);
        assert.equal(await dir.mfa.recoveryCodesLeft(a.id, alice.id), 3);
        assert.equal(await dir.mfa.useRecoveryCode(a.id, alice.id, 'h2'), true);
        assert.equal(await dir.mfa.useRecoveryCode(a.id, alice.id, 'h2'), false);
        assert.equal(await dir.mfa.useRecoveryCode(a.id, alice.id, 'nope'), false);
        assert.equal(await dir.mfa.recoveryCodesLeft(a.id, alice.id), 2);
        assert.equal((await dir.mfa.methods(a.id, alice.id)).recoveryCodes, 2);
        const racing = await Promise.all(
          Array.from({ length: 6 }, () => dir.mfa.useRecoveryCode(a.id, alice.id, 'h1')),
        );
        assert.equal(racing.filter(Boolean).length, 1);
        await dir.mfa.setRecoveryCodes(a.id, alice.id, ['n1', 'n2']);
        assert.equal(await dir.mfa.useRecoveryCode(a.id, alice.id, 'h3'), false, 'the old set is gone');
        assert.equal(await dir.mfa.recoveryCodesLeft(a.id, alice.id), 2);
      });

      it('keeps passkeys: add, list, find by credential id, count uses, delete', async () => {
        const alice = await user(a.id, 'alice');
        const bob = await user(a.id, 'bob');
        const key = await dir.mfa.webauthnAdd(a.id, alice.id, {
          credentialId: 'cred-1',
          publicKey: 'pk-1',
          counter: 0,
          transports: ['usb', 'nfc'],
          name: 'YubiKey',
        });
        assert.match(key.id, /^wac_[0-9a-f]{16}$/);
        assert.deepEqual(
          [
            key.tenantId,
            key.userId,
            key.credentialId,
            key.publicKey,
            key.counter,
            key.transports,
            key.name,
            key.lastUsedAt,
          ],
          [a.id, alice.id, 'cred-1', 'pk-1', 0, ['usb', 'nfc'], 'YubiKey', null],
        );
        const second = await dir.mfa.webauthnAdd(a.id, alice.id, {
          credentialId: 'cred-2',
          publicKey: 'pk-2',
          counter: 3,
          transports: [],
          name: 'Laptop',
        });
        assert.deepEqual(
          (await dir.mfa.webauthnList(a.id, alice.id)).map((c) => c.id).sort(),
          [key.id, second.id].sort(),
        );
        assert.deepEqual(await dir.mfa.webauthnFind(a.id, 'cred-1'), key);
        assert.equal(await dir.mfa.webauthnFind(a.id, 'cred-9'), null);
        await rejectsWith(
          dir.mfa.webauthnAdd(a.id, bob.id, {
            credentialId: 'cred-1',
            publicKey: 'pk',
            counter: 0,
            transports: [],
            name: 'copy',
          }),
          'DB-ADMIN-CONFLICT',
        );
        assert.deepEqual(await dir.mfa.methods(a.id, alice.id), { totp: false, webauthn: true, recoveryCodes: 0 });
        await dir.mfa.webauthnUse(a.id, 'cred-1', 7);
        const used = await dir.mfa.webauthnFind(a.id, 'cred-1');
        assert.equal(used?.counter, 7);
        assert.ok(used?.lastUsedAt && !Number.isNaN(Date.parse(used.lastUsedAt)));
        await dir.mfa.webauthnDelete(a.id, bob.id, key.id);
        assert.ok(await dir.mfa.webauthnFind(a.id, 'cred-1'), 'only the owner deletes it');
        await dir.mfa.webauthnDelete(a.id, alice.id, key.id);
        assert.deepEqual(
          (await dir.mfa.webauthnList(a.id, alice.id)).map((c) => c.id),
          [second.id],
        );
      });

      it('resets every second factor of one user', async () => {
        const alice = await user(a.id, 'alice');
        const bob = await user(a.id, 'bob');
        for (const u of [alice, bob]) {
          await dir.mfa.setTotp(a.id, u.id, 'JBSWY3DPEHPK3PXP', true);
          await dir.mfa.setRecoveryCodes(a.id, u.id, ['h1']);
          await dir.mfa.webauthnAdd(a.id, u.id, {
            credentialId: `cred-${u.upn}`,
            publicKey: 'pk',
            counter: 0,
            transports: [],
            name: 'key',
          });
        }
        await dir.mfa.reset(a.id, alice.id);
        assert.equal(await dir.mfa.getTotp(a.id, alice.id), null);
        assert.deepEqual(await dir.mfa.methods(a.id, alice.id), { totp: false, webauthn: false, recoveryCodes: 0 });
        assert.deepEqual(await dir.mfa.methods(a.id, bob.id), { totp: true, webauthn: true, recoveryCodes: 1 });
      });

      it("tenant B can neither read, use, change nor create tenant A's credentials", async () => {
        const alice = await user(a.id, 'alice');
        await dir.mfa.setTotp(a.id, alice.id, 'JBSWY3DPEHPK3PXP', true);
        await dir.mfa.setRecoveryCodes(a.id, alice.id, ['h1']);
        const key = await dir.mfa.webauthnAdd(a.id, alice.id, {
          credentialId: 'cred-1',
          publicKey: 'pk',
          counter: 0,
          transports: [],
          name: 'key',
        });
        assert.equal(await dir.mfa.getTotp(b.id, alice.id), null);
        assert.equal(await dir.mfa.useTotpStep(b.id, alice.id, 10), false);
        await dir.mfa.confirmTotp(b.id, alice.id, 99);
        assert.equal(await dir.mfa.useRecoveryCode(b.id, alice.id, 'h1'), false);
        assert.equal(await dir.mfa.recoveryCodesLeft(b.id, alice.id), 0);
        assert.deepEqual(await dir.mfa.webauthnList(b.id, alice.id), []);
        assert.equal(await dir.mfa.webauthnFind(b.id, 'cred-1'), null);
        await dir.mfa.webauthnUse(b.id, 'cred-1', 50);
        await dir.mfa.webauthnDelete(b.id, alice.id, key.id);
        await dir.mfa.reset(b.id, alice.id);
        assert.deepEqual(await dir.mfa.methods(b.id, alice.id), { totp: false, webauthn: false, recoveryCodes: 0 });
        await rejectsWith(dir.mfa.setTotp(b.id, alice.id, 'AAAA'), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(dir.mfa.setRecoveryCodes(b.id, alice.id, ['x']), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(
          dir.mfa.webauthnAdd(b.id, alice.id, {
            credentialId: 'cred-2',
            publicKey: 'pk',
            counter: 0,
            transports: [],
            name: 'key',
          }),
          'DB-ADMIN-NOT-FOUND',
        );
        const totp = await dir.mfa.getTotp(a.id, alice.id);
        assert.deepEqual([totp?.secret, totp?.lastStep], ['JBSWY3DPEHPK3PXP', null]);
        assert.deepEqual(await dir.mfa.methods(a.id, alice.id), { totp: true, webauthn: true, recoveryCodes: 1 });
        assert.equal((await dir.mfa.webauthnFind(a.id, 'cred-1'))?.counter, 0);
        // A passkey's credential id is unique per tenant only.
        const bob = await user(b.id, 'bob');
        assert.equal(
          (
            await dir.mfa.webauthnAdd(b.id, bob.id, {
              credentialId: 'cred-1',
              publicKey: 'pk-b',
              counter: 0,
              transports: [],
              name: 'key',
            })
          ).userId,
          bob.id,
        );
        assert.equal((await dir.mfa.webauthnFind(a.id, 'cred-1'))?.userId, alice.id);
      });
    });

    describe('identity settings', () => {
      it('starts from defaults and keeps patches per tenant', async () => {
        const defaults = await dir.settings.get(a.id);
        assert.deepEqual(defaults, {
          tenantId: a.id,
          requireMfa: false,
          sessionIdleSeconds: 8 * 3600,
          sessionAbsoluteSeconds: 24 * 3600,
          allowPersistentSessions: false,
          oidc: null,
        });
        const updated = await dir.settings.update(a.id, { requireMfa: true, sessionIdleSeconds: 600 });
        assert.deepEqual(updated, { ...defaults, requireMfa: true, sessionIdleSeconds: 600 });
        assert.deepEqual(await dir.settings.get(a.id), updated);
        assert.deepEqual(await dir.settings.update(a.id, { allowPersistentSessions: true }), {
          ...updated,
          allowPersistentSessions: true,
        });
        assert.deepEqual(await dir.settings.get(b.id), { ...defaults, tenantId: b.id });
      });

      it('refuses session lifetimes out of bounds, and keeps the last good settings', async () => {
        await rejectsWith(dir.settings.update(a.id, { sessionIdleSeconds: 59 }), 'DB-ADMIN-INVALID');
        await rejectsWith(dir.settings.update(a.id, { sessionIdleSeconds: 90.5 }), 'DB-ADMIN-INVALID');
        await rejectsWith(
          dir.settings.update(a.id, { sessionIdleSeconds: 7200, sessionAbsoluteSeconds: 3600 }),
          'DB-ADMIN-INVALID',
        );
        assert.equal((await dir.settings.get(a.id)).sessionIdleSeconds, 8 * 3600);
      });

      it('keeps OIDC federation settings (client secret included) with their defaults, and clears them', async () => {
        const oidc = {
          issuer: 'https://idp.example.com',
          clientId: 'drawbridge',
          clientSecret: 's3cret',
          displayName: '',
          scopes: [],
          usernameClaim: '',
          groupsClaim: '',
          autoCreateUsers: false,
        };
        const saved = await dir.settings.update(a.id, { oidc });
        assert.deepEqual(saved.oidc, {
          issuer: 'https://idp.example.com',
          clientId: 'drawbridge',
          clientSecret: 's3cret',
          displayName: 'your organisation',
          scopes: ['openid', 'profile', 'email'],
          usernameClaim: 'preferred_username',
          groupsClaim: 'groups',
          autoCreateUsers: false,
          allowInsecureLoopback: false,
        });
        assert.deepEqual((await dir.settings.get(a.id)).oidc, saved.oidc);
        assert.equal(
          (await dir.settings.update(a.id, { requireMfa: true })).oidc?.clientSecret,
          's3cret',
          'a patch without oidc keeps it',
        );
        assert.equal((await dir.settings.get(b.id)).oidc, null);
        await rejectsWith(dir.settings.update(a.id, { oidc: { ...oidc, issuer: 'not a url' } }), 'DB-ADMIN-INVALID');
        await rejectsWith(
          dir.settings.update(a.id, { oidc: { ...oidc, issuer: 'http://idp.example.com' } }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(
          dir.settings.update(a.id, { oidc: { ...oidc, issuer: 'http://127.0.0.1:9000' } }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(dir.settings.update(a.id, { oidc: { ...oidc, clientId: '' } }), 'DB-ADMIN-INVALID');
        const lab = await dir.settings.update(a.id, {
          oidc: { ...oidc, issuer: 'http://127.0.0.1:9000', allowInsecureLoopback: true },
        });
        assert.equal(lab.oidc?.issuer, 'http://127.0.0.1:9000');
        assert.equal((await dir.settings.update(a.id, { oidc: null })).oidc, null);
        assert.equal((await dir.settings.get(a.id)).requireMfa, true);
      });

      it("keeps several OIDC providers per tenant, each domain owned by one, the settings' single provider being `default`", async () => {
        const base = { issuer: 'https://contoso.example.com', clientId: 'drawbridge', clientSecret: 'secret-a' };
        const contoso = await dir.settings.putProvider(a.id, {
          ...base,
          id: 'contoso',
          displayName: 'Contoso',
          domains: ['Contoso.Example', 'contoso.example'],
        });
        assert.deepEqual(
          [contoso.domains, contoso.buttonLabel, contoso.clientSecret, contoso.scopes],
          [['contoso.example'], 'Sign in with Contoso', 'secret-a', ['openid', 'profile', 'email']],
        );
        const fabrikam = await dir.settings.putProvider(a.id, {
          id: 'fabrikam',
          issuer: 'https://fabrikam.example.com',
          clientId: 'db',
          clientSecret: null,
          displayName: 'Fabrikam',
          domains: ['fabrikam.example'],
          buttonLabel: 'Fabrikam staff',
        });
        assert.equal(fabrikam.buttonLabel, 'Fabrikam staff');
        assert.deepEqual(
          (await dir.settings.providers(a.id)).map((p) => p.id),
          ['contoso', 'fabrikam'],
        );
        assert.deepEqual(await dir.settings.providers(b.id), []);
        await rejectsWith(
          dir.settings.putProvider(a.id, { ...base, id: 'other', domains: ['contoso.example'] }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(
          dir.settings.putProvider(a.id, { ...base, id: 'other', domains: ['not a domain'] }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(dir.settings.putProvider(a.id, { ...base, id: 'Bad Id' }), 'DB-ADMIN-INVALID');
        await rejectsWith(
          dir.settings.putProvider(a.id, { ...base, id: 'other', issuer: 'http://idp.example.com' }),
          'DB-ADMIN-INVALID',
        );
        // Replacing keeps the position; the other tenant may own the same domain.
        await dir.settings.putProvider(a.id, {
          ...base,
          id: 'contoso',
          displayName: 'Contoso',
          domains: ['contoso.example', 'contoso.test'],
        });
        assert.deepEqual(
          (await dir.settings.providers(a.id)).map((p) => [p.id, p.domains]),
          [
            ['contoso', ['contoso.example', 'contoso.test']],
            ['fabrikam', ['fabrikam.example']],
          ],
        );
        await dir.settings.putProvider(b.id, { ...base, id: 'contoso', domains: ['contoso.example'] });
        // The single-provider settings read and write `default`, which keeps the domains the list gave it.
        assert.equal((await dir.settings.get(a.id)).oidc, null);
        await dir.settings.update(a.id, {
          oidc: {
            ...base,
            issuer: 'https://legacy.example.com',
            displayName: 'Legacy',
            scopes: [],
            usernameClaim: '',
            groupsClaim: '',
            autoCreateUsers: true,
          },
        });
        assert.equal(
          (await dir.settings.providers(a.id)).find((p) => p.id === 'default')?.buttonLabel,
          'Sign in with Legacy',
        );
        await dir.settings.putProvider(a.id, {
          ...(await dir.settings.providers(a.id)).find((p) => p.id === 'default')!,
          domains: ['legacy.example'],
        });
        await dir.settings.update(a.id, {
          oidc: { ...(await dir.settings.get(a.id)).oidc!, displayName: 'Legacy ID' },
        });
        const legacy = (await dir.settings.providers(a.id)).find((p) => p.id === 'default');
        assert.deepEqual(
          [legacy?.domains, legacy?.buttonLabel, (await dir.settings.get(a.id)).oidc?.displayName],
          [['legacy.example'], 'Sign in with Legacy ID', 'Legacy ID'],
        );
        assert.equal(await dir.settings.deleteProvider(a.id, 'fabrikam'), true);
        assert.equal(await dir.settings.deleteProvider(a.id, 'fabrikam'), false);
        await dir.settings.update(a.id, { oidc: null });
        assert.deepEqual(
          (await dir.settings.providers(a.id)).map((p) => p.id),
          ['contoso'],
        );
      });
    });

    describe('sign-in log', () => {
      it('appends entries with an id and a time, and returns them newest first', async () => {
        const alice = await user(a.id, 'alice');
        const first = await dir.signinLog.append(
          entry(a.id, { userId: alice.id, appId: appA.id, correlationId: 'c-1', detail: { policy: 'p1', ok: true } }),
        );
        assert.match(first.id, /^sil_[0-9a-f]{16}$/);
        assert.ok(!Number.isNaN(Date.parse(first.time)));
        const second = await dir.signinLog.append(
          entry(a.id, {
            event: 'mfa',
            result: 'failure',
            code: 'DB-AUTH-MFA-INVALID',
            mfaMethod: 'totp',
            time: '2030-01-01T00:00:00.000Z',
          }),
        );
        assert.equal(second.time, '2030-01-01T00:00:00.000Z');
        const page = await dir.signinLog.query(a.id);
        assert.deepEqual(page.items, [second, first]);
        assert.equal(page.next, null);
        assert.deepEqual(page.items[1].detail, { policy: 'p1', ok: true });
      });

      it('cuts long user names and user agents, and defaults the detail', async () => {
        const { detail: _omitted, ...rest } = entry(a.id, { username: 'u'.repeat(400), userAgent: 'a'.repeat(900) });
        const saved = await dir.signinLog.append(rest as NewEntry);
        const [read] = (await dir.signinLog.query(a.id)).items;
        assert.deepEqual(read, saved);
        assert.deepEqual([read.username?.length, read.userAgent?.length, read.detail], [256, 512, {}]);
      });

      it('filters on each column admins search by, and on a time window', async () => {
        const alice = await user(a.id, 'alice');
        const log = async (time: string, extra: Partial<NewEntry>) =>
          dir.signinLog.append(entry(a.id, { time, ...extra }));
        const e1 = await log('2030-01-01T10:00:00.000Z', { userId: alice.id, appId: appA.id, event: 'access' });
        const e2 = await log('2030-01-01T11:00:00.000Z', {
          username: 'mallory',
          result: 'failure',
          code: 'DB-AUTH-BAD-PASSWORD',
          clientIp: '198.51.100.7',
        });
        const e3 = await log('2030-01-01T12:00:00.000Z', {
          result: 'denied',
          code: 'DB-ACCESS-NO-LICENCE',
          event: 'access',
          appId: appA.id,
        });
        const ids = async (filter: Parameters<DirectoryStore['signinLog']['query']>[1]) =>
          (await dir.signinLog.query(a.id, filter)).items.map((e: SigninLogEntry) => e.id);
        assert.deepEqual(await ids({ userId: alice.id }), [e1.id]);
        assert.deepEqual(await ids({ username: 'mallory' }), [e2.id]);
        assert.deepEqual(await ids({ appId: appA.id }), [e3.id, e1.id]);
        assert.deepEqual(await ids({ result: 'failure' }), [e2.id]);
        assert.deepEqual(await ids({ code: 'DB-ACCESS-NO-LICENCE' }), [e3.id]);
        assert.deepEqual(await ids({ event: 'access' }), [e3.id, e1.id]);
        assert.deepEqual(await ids({ clientIp: '198.51.100.7' }), [e2.id]);
        assert.deepEqual(await ids({ since: '2030-01-01T11:00:00.000Z' }), [e3.id, e2.id]);
        assert.deepEqual(await ids({ until: '2030-01-01T11:00:00.000Z' }), [e1.id]);
        assert.deepEqual(await ids({ since: '2030-01-01T10:30:00.000Z', until: '2030-01-01T11:30:00.000Z' }), [e2.id]);
        assert.deepEqual(await ids({ event: 'access', result: 'denied' }), [e3.id]);
        assert.deepEqual(await ids({ username: '', code: '' }), [e3.id, e2.id, e1.id], 'empty filters are no filters');
        assert.deepEqual(await ids({ event: 'nothing' }), []);
      });

      it('pages newest first with an opaque cursor, and refuses a forged one', async () => {
        const made: string[] = [];
        for (let i = 0; i < 7; i++)
          made.push((await dir.signinLog.append(entry(a.id, { correlationId: `c-${i}` }))).id);
        await dir.signinLog.append(entry(b.id));
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 10; page++) {
          const p = await dir.signinLog.query(a.id, { limit: 3, cursor });
          assert.ok(p.items.length <= 3);
          seen.push(...p.items.map((e) => e.id));
          if (!p.next) break;
          cursor = p.next;
        }
        assert.deepEqual(seen, made.reverse());
        assert.equal((await dir.signinLog.query(a.id, { limit: 0 })).items.length, 1, 'the page size is at least one');
        await rejectsWith(
          dir.signinLog.query(a.id, { cursor: Buffer.from('not a number').toString('base64url') }),
          'DB-ADMIN-INVALID',
        );
      });

      it("keeps each tenant's log to itself", async () => {
        const mine = await dir.signinLog.append(entry(a.id, { username: 'shared-name' }));
        const theirs = await dir.signinLog.append(entry(b.id, { username: 'shared-name' }));
        assert.deepEqual(
          (await dir.signinLog.query(a.id, { username: 'shared-name' })).items.map((e) => e.id),
          [mine.id],
        );
        assert.deepEqual(
          (await dir.signinLog.query(b.id)).items.map((e) => e.id),
          [theirs.id],
        );
      });
    });
  });
}
