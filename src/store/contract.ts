/**
 * The store contract suite: every `Store` implementation runs it (see `sqlite/sqlite.test.ts`). It pins what callers
 * rely on beyond the types: tenant scoping, one-time expiring enrollment tokens, uniqueness, change events, paging.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ErrorCode } from '../errors/catalogue.ts';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { newId } from './ids.ts';
import type { ChangeEvent, ConnectorGroup, Store, Tenant } from './types.ts';

export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DrawbridgeError, `expected DrawbridgeError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export function runStoreContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    let a: Tenant;
    let b: Tenant;
    let ga: ConnectorGroup;
    let gb: ConnectorGroup;

    beforeEach(async () => {
      store = await makeStore();
      a = await store.tenants.create({ name: 'contoso', displayName: 'Contoso Ltd' });
      b = await store.tenants.create({ name: 'fabrikam' });
      ga = await store.groups.create(a.id, { name: 'default' });
      gb = await store.groups.create(b.id, { name: 'default' });
    });
    afterEach(async () => {
      await store.close();
    });

    const connectorInput = (tenantId: string, groupId: string, extra: { name?: string; certSerial?: string } = {}) => ({
      id: newId('con'),
      tenantId,
      groupId,
      name: extra.name ?? 'host-1',
      certSerial: extra.certSerial ?? newId('con').slice(4),
      certNotAfter: '2030-01-01T00:00:00.000Z',
    });
    const appInput = (groupId: string, name: string, externalUrl: string) => ({
      name,
      groupId,
      externalUrl,
      internalUrl: 'http://hr.corp.local:8080/',
    });

    describe('ids and tenants', () => {
      it('creates tenants with prefixed ids and finds them by id and by name', async () => {
        assert.match(a.id, /^tnt_[0-9a-f]{16}$/);
        assert.match(ga.id, /^grp_[0-9a-f]{16}$/);
        assert.equal(a.displayName, 'Contoso Ltd');
        assert.equal(b.displayName, 'fabrikam');
        assert.deepEqual(await store.tenants.get(a.id), a);
        assert.deepEqual(await store.tenants.getByName('contoso'), a);
        assert.equal(await store.tenants.get('tnt_0000000000000000'), null);
        assert.equal(await store.tenants.getByName('nobody'), null);
        assert.deepEqual(
          (await store.tenants.list()).map((t) => t.name),
          ['contoso', 'fabrikam'],
        );
      });
      it('refuses a duplicate tenant name and a name that is not a slug', async () => {
        await rejectsWith(store.tenants.create({ name: 'contoso' }), 'DB-ADMIN-CONFLICT');
        await rejectsWith(store.tenants.create({ name: 'Not A Slug' }), 'DB-ADMIN-INVALID');
      });
      it('refuses to delete a tenant that still has apps or connectors, then deletes it with its groups', async () => {
        const app = await store.apps.create(a.id, appInput(ga.id, 'hr', 'https://hr.example.com'));
        await rejectsWith(store.tenants.delete(a.id), 'DB-ADMIN-CONFLICT');
        await store.apps.delete(a.id, app.id);
        const con = await store.connectors.create(connectorInput(a.id, ga.id));
        await rejectsWith(store.tenants.delete(a.id), 'DB-ADMIN-CONFLICT');
        await store.connectors.delete(a.id, con.id);
        await store.enrollmentTokens.create(a.id, ga.id, 60);
        await store.tenants.delete(a.id);
        assert.equal(await store.tenants.get(a.id), null);
        assert.equal(await store.groups.get(a.id, ga.id), null);
        assert.deepEqual(await store.enrollmentTokens.list(a.id), []);
        await rejectsWith(store.tenants.delete(a.id), 'DB-ADMIN-NOT-FOUND');
        assert.ok(await store.groups.get(b.id, gb.id), 'the other tenant is untouched');
      });
    });

    describe('connector groups', () => {
      it('names are unique per tenant only', async () => {
        await rejectsWith(store.groups.create(a.id, { name: 'default' }), 'DB-ADMIN-CONFLICT');
        const other = await store.groups.create(a.id, { name: 'EU West' });
        assert.deepEqual(
          (await store.groups.list(a.id)).map((g) => g.name),
          ['EU West', 'default'],
        );
        assert.equal(other.tenantId, a.id);
      });
      it('refuses a group in an unknown tenant', async () => {
        await rejectsWith(store.groups.create('tnt_0000000000000000', { name: 'x' }), 'DB-ADMIN-NOT-FOUND');
      });
      it("tenant B can neither read nor delete tenant A's group", async () => {
        assert.equal(await store.groups.get(b.id, ga.id), null);
        assert.ok(!(await store.groups.list(b.id)).some((g) => g.id === ga.id));
        await rejectsWith(store.groups.delete(b.id, ga.id), 'DB-ADMIN-NOT-FOUND');
        assert.ok(await store.groups.get(a.id, ga.id));
      });
      it('refuses to delete a group in use, deletes it once free', async () => {
        const app = await store.apps.create(a.id, appInput(ga.id, 'hr', 'https://hr.example.com'));
        await rejectsWith(store.groups.delete(a.id, ga.id), 'DB-ADMIN-CONFLICT');
        await store.apps.delete(a.id, app.id);
        const con = await store.connectors.create(connectorInput(a.id, ga.id));
        await rejectsWith(store.groups.delete(a.id, ga.id), 'DB-ADMIN-CONFLICT');
        await store.connectors.delete(a.id, con.id);
        await store.groups.delete(a.id, ga.id);
        assert.equal(await store.groups.get(a.id, ga.id), null);
      });
    });

    describe('admin tokens', () => {
      const later = () => new Date(Date.now() + 3_600_000).toISOString();
      it('stores only a hash: the text verifies, a changed secret or another id does not', async () => {
        const { token, row } = await store.adminTokens.create({
          administrator: 'alice@contoso',
          role: 'tenant-admin',
          tenantId: a.id,
          expiresAt: later(),
          createdBy: 'bootstrap',
        });
        assert.match(token, /^dba_atk_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
        assert.deepEqual(await store.adminTokens.verify(token), row);
        assert.equal(row.tenantId, a.id);
        assert.deepEqual(row.appIds, []);
        assert.equal(row.revokedAt, null);
        assert.equal(await store.adminTokens.verify(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`), null);
        assert.equal(await store.adminTokens.verify(token.replace(row.id, newId('atk'))), null);
        assert.equal(await store.adminTokens.verify('not a token'), null);
      });
      it('lists per tenant or all, keeps app ids, and revokes once (the first time stays)', async () => {
        const g = await store.adminTokens.create({
          administrator: 'root',
          role: 'global-admin',
          tenantId: null,
          expiresAt: later(),
          createdBy: 'bootstrap',
        });
        const app = await store.adminTokens.create({
          administrator: 'bob',
          role: 'app-admin',
          tenantId: b.id,
          appIds: ['app_0000000000000001'],
          expiresAt: later(),
          createdBy: g.row.id,
        });
        assert.deepEqual(app.row.appIds, ['app_0000000000000001']);
        assert.deepEqual(
          (await store.adminTokens.list(b.id)).map((t) => t.id),
          [app.row.id],
        );
        assert.deepEqual(await store.adminTokens.list(a.id), []);
        assert.deepEqual(new Set((await store.adminTokens.list()).map((t) => t.id)), new Set([g.row.id, app.row.id]));
        const first = await store.adminTokens.revoke(app.row.id, new Date('2030-01-01T00:00:00.000Z'));
        assert.equal(first.revokedAt, '2030-01-01T00:00:00.000Z');
        assert.equal(
          (await store.adminTokens.revoke(app.row.id, new Date('2031-01-01T00:00:00.000Z'))).revokedAt,
          '2030-01-01T00:00:00.000Z',
        );
        assert.equal((await store.adminTokens.verify(app.token))?.revokedAt, '2030-01-01T00:00:00.000Z');
        await rejectsWith(store.adminTokens.revoke(newId('atk'), new Date()), 'DB-ADMIN-NOT-FOUND');
      });
      it('refuses scopes that do not fit the role and an unknown tenant; goes with its tenant', async () => {
        const base = { administrator: 'x', expiresAt: later(), createdBy: 'bootstrap' };
        await rejectsWith(
          store.adminTokens.create({ ...base, role: 'global-admin', tenantId: a.id }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(
          store.adminTokens.create({ ...base, role: 'tenant-admin', tenantId: null }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(store.adminTokens.create({ ...base, role: 'app-admin', tenantId: a.id }), 'DB-ADMIN-INVALID');
        await rejectsWith(
          store.adminTokens.create({ ...base, role: 'owner' as 'tenant-admin', tenantId: a.id }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(
          store.adminTokens.create({ ...base, role: 'security-reader', tenantId: 'tnt_0000000000000000' }),
          'DB-ADMIN-NOT-FOUND',
        );
        const t = await store.adminTokens.create({ ...base, role: 'security-reader', tenantId: a.id });
        await store.tenants.delete(a.id);
        assert.equal(await store.adminTokens.get(t.row.id), null);
      });
    });

    describe('enrollment tokens', () => {
      it('returns dbe_<id>.<secret> once and lists rows without the secret', async () => {
        const { token, row } = await store.enrollmentTokens.create(a.id, ga.id, 3600);
        assert.match(token, /^dbe_enr_[0-9a-f]{16}\.[A-Za-z0-9_-]{43}$/);
        assert.ok(token.startsWith(`dbe_${row.id}.`));
        assert.equal(row.usedAt, null);
        assert.equal(row.connectorId, null);
        const ttl = Date.parse(row.expiresAt) - Date.parse(row.createdAt);
        assert.equal(ttl, 3600_000);
        const listed = await store.enrollmentTokens.list(a.id);
        assert.deepEqual(listed, [row]);
        assert.ok(!JSON.stringify(listed).includes(token.split('.')[1]));
        assert.deepEqual(await store.enrollmentTokens.list(b.id), []);
      });
      it('is consumed once: the second use fails', async () => {
        const { token, row } = await store.enrollmentTokens.create(a.id, ga.id, 60);
        const conId = newId('con');
        const used = await store.enrollmentTokens.consume(token, conId, new Date());
        assert.equal(used.id, row.id);
        assert.equal(used.tenantId, a.id);
        assert.equal(used.groupId, ga.id);
        assert.equal(used.connectorId, conId);
        assert.ok(used.usedAt);
        await rejectsWith(store.enrollmentTokens.consume(token, newId('con'), new Date()), 'DB-ENROLL-TOKEN-INVALID');
      });
      it('only one of two racing consumers wins', async () => {
        const { token } = await store.enrollmentTokens.create(a.id, ga.id, 60);
        const results = await Promise.allSettled([
          store.enrollmentTokens.consume(token, newId('con'), new Date()),
          store.enrollmentTokens.consume(token, newId('con'), new Date()),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      });
      it('refuses an expired token', async () => {
        const { token } = await store.enrollmentTokens.create(a.id, ga.id, 60);
        await rejectsWith(
          store.enrollmentTokens.consume(token, newId('con'), new Date(Date.now() + 61_000)),
          'DB-ENROLL-TOKEN-INVALID',
        );
        // Expiry is not use: the token remains unused (and still expired).
        assert.equal((await store.enrollmentTokens.list(a.id))[0].usedAt, null);
      });
      it('refuses malformed, unknown and wrong-secret tokens', async () => {
        const { token } = await store.enrollmentTokens.create(a.id, ga.id, 60);
        const [head, secret] = token.split('.');
        const wrongSecret = `${head}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
        const unknown = `dbe_${newId('enr')}.${secret}`;
        for (const bad of [
          '',
          'garbage',
          `${head}.`,
          `${token}x`,
          token.replace('dbe_', 'dbx_'),
          wrongSecret,
          unknown,
        ]) {
          await rejectsWith(store.enrollmentTokens.consume(bad, newId('con'), new Date()), 'DB-ENROLL-TOKEN-INVALID');
        }
        await store.enrollmentTokens.consume(token, newId('con'), new Date()); // still good after the failures
      });
      it("refuses a token for another tenant's group", async () => {
        await rejectsWith(store.enrollmentTokens.create(b.id, ga.id, 60), 'DB-ADMIN-NOT-FOUND');
      });
    });

    describe('connectors', () => {
      it('creates, reads, lists by group, updates and deletes within the tenant', async () => {
        const g2 = await store.groups.create(a.id, { name: 'second' });
        const c = await store.connectors.create(connectorInput(a.id, ga.id, { name: 'host-1' }));
        assert.equal(c.enabled, true);
        assert.equal(c.version, null);
        assert.deepEqual(await store.connectors.get(a.id, c.id), c);
        assert.deepEqual(await store.connectors.getById(c.id), c);
        assert.deepEqual(
          (await store.connectors.list(a.id, ga.id)).map((x) => x.id),
          [c.id],
        );
        assert.deepEqual(await store.connectors.list(a.id, g2.id), []);
        const seen = new Date().toISOString();
        const u = await store.connectors.update(a.id, c.id, {
          enabled: false,
          groupId: g2.id,
          version: '0.1.0',
          lastSeenAt: seen,
          lastAddress: '203.0.113.9',
        });
        assert.equal(u.enabled, false);
        assert.equal(u.groupId, g2.id);
        assert.equal(u.version, '0.1.0');
        assert.equal(u.lastSeenAt, seen);
        assert.equal(u.name, 'host-1');
        assert.equal(u.certSerial, c.certSerial);
        assert.equal(u.previousCertSerial, null);
        // Certificate renewal: the new serial is current, the old one is kept until the connector uses the new one.
        const notAfter = new Date(Date.now() + 86_400_000).toISOString();
        const renewed = await store.connectors.update(a.id, c.id, {
          certSerial: 'beef01',
          certNotAfter: notAfter,
          previousCertSerial: c.certSerial,
        });
        assert.deepEqual(
          [renewed.certSerial, renewed.certNotAfter, renewed.previousCertSerial],
          ['beef01', notAfter, c.certSerial],
        );
        assert.equal(
          (await store.connectors.update(a.id, c.id, { previousCertSerial: null })).previousCertSerial,
          null,
        );
        await store.connectors.delete(a.id, c.id);
        assert.equal(await store.connectors.getById(c.id), null);
        await rejectsWith(store.connectors.delete(a.id, c.id), 'DB-ADMIN-NOT-FOUND');
      });
      it("tenant B can never read, update or delete tenant A's connector", async () => {
        const c = await store.connectors.create(connectorInput(a.id, ga.id));
        assert.equal(await store.connectors.get(b.id, c.id), null);
        assert.deepEqual(await store.connectors.list(b.id), []);
        await rejectsWith(store.connectors.update(b.id, c.id, { enabled: false }), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(store.connectors.delete(b.id, c.id), 'DB-ADMIN-NOT-FOUND');
        assert.equal((await store.connectors.get(a.id, c.id))?.enabled, true);
      });
      it("refuses another tenant's group and a duplicate certificate serial", async () => {
        await rejectsWith(store.connectors.create(connectorInput(b.id, ga.id)), 'DB-ADMIN-NOT-FOUND');
        const c = await store.connectors.create(connectorInput(a.id, ga.id, { certSerial: '0a1b' }));
        await rejectsWith(
          store.connectors.create(connectorInput(a.id, ga.id, { certSerial: '0a1b' })),
          'DB-ADMIN-CONFLICT',
        );
        await rejectsWith(store.connectors.update(a.id, c.id, { groupId: gb.id }), 'DB-ADMIN-NOT-FOUND');
      });
    });

    describe('apps', () => {
      it('derives externalHost, applies defaults and reads back', async () => {
        const app = await store.apps.create(a.id, appInput(ga.id, 'hr', 'https://HR-Contoso.Example.COM:8443'));
        assert.match(app.id, /^app_[0-9a-f]{16}$/);
        assert.equal(app.externalHost, 'hr-contoso.example.com');
        assert.equal(app.externalUrl, 'https://hr-contoso.example.com:8443');
        assert.equal(app.preAuth, 'idp');
        assert.equal(app.backendTimeout, 85);
        assert.equal(app.tlsVerify, true);
        assert.equal(app.backendCa, null);
        assert.equal(app.enabled, true);
        assert.deepEqual(await store.apps.get(a.id, app.id), app);
        assert.deepEqual(await store.apps.list(a.id), [app]);
      });
      it('external hosts are unique across the edge; names only per tenant', async () => {
        await store.apps.create(a.id, appInput(ga.id, 'hr', 'https://hr.example.com'));
        await rejectsWith(
          store.apps.create(b.id, appInput(gb.id, 'other', 'https://HR.example.com:444')),
          'DB-ADMIN-CONFLICT',
        );
        await rejectsWith(
          store.apps.create(a.id, appInput(ga.id, 'hr', 'https://hr2.example.com')),
          'DB-ADMIN-CONFLICT',
        );
        const bApp = await store.apps.create(b.id, appInput(gb.id, 'hr', 'https://hr-b.example.com'));
        assert.deepEqual((await store.apps.listAll()).map((x) => x.externalHost).sort(), [
          'hr-b.example.com',
          'hr.example.com',
        ]);
        await rejectsWith(
          store.apps.update(b.id, bApp.id, { externalUrl: 'https://hr.example.com' }),
          'DB-ADMIN-CONFLICT',
        );
      });
      it('validates fields and the group', async () => {
        await rejectsWith(store.apps.create(a.id, appInput(ga.id, 'hr', 'http://hr.example.com')), 'DB-ADMIN-INVALID');
        await rejectsWith(
          store.apps.create(a.id, appInput(ga.id, 'hr', 'https://hr.example.com/path')),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(
          store.apps.create(a.id, { ...appInput(ga.id, 'hr', 'https://hr.example.com'), internalUrl: 'ftp://x' }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(
          store.apps.create(a.id, appInput(gb.id, 'hr', 'https://hr.example.com')),
          'DB-ADMIN-NOT-FOUND',
        );
      });
      it('updates fields and recomputes externalHost', async () => {
        const app = await store.apps.create(a.id, appInput(ga.id, 'hr', 'https://hr.example.com'));
        const u = await store.apps.update(a.id, app.id, {
          externalUrl: 'https://People.example.com',
          preAuth: 'passthrough',
          backendTimeout: 180,
          enabled: false,
          tlsVerify: false,
        });
        assert.equal(u.externalHost, 'people.example.com');
        assert.equal(u.preAuth, 'passthrough');
        assert.equal(u.backendTimeout, 180);
        assert.equal(u.enabled, false);
        assert.equal(u.tlsVerify, false);
        assert.equal(u.createdAt, app.createdAt);
        assert.ok(u.updatedAt >= app.updatedAt);
        // the old host is free again
        await store.apps.create(a.id, appInput(ga.id, 'old', 'https://hr.example.com'));
      });
      it('web settings: HSTS off, header translation on, body off, cookie as before by default; set, cleared and checked', async () => {
        const app = await store.apps.create(a.id, appInput(ga.id, 'hr', 'https://hr.example.com'));
        assert.equal(app.hsts, null);
        assert.deepEqual(app.linkTranslation, { headers: true, body: false });
        assert.deepEqual(app.sessionCookie, { persistent: 'user', lifetimeSeconds: null, sameSite: 'Lax' });
        const u = await store.apps.update(a.id, app.id, {
          hsts: { maxAge: 600, includeSubDomains: true },
          linkTranslation: { headers: true, body: true },
          sessionCookie: { persistent: 'never', lifetimeSeconds: 3600, sameSite: 'Strict' },
        });
        assert.deepEqual(u.hsts, { maxAge: 600, includeSubDomains: true });
        assert.deepEqual(u.linkTranslation, { headers: true, body: true });
        assert.deepEqual(u.sessionCookie, { persistent: 'never', lifetimeSeconds: 3600, sameSite: 'Strict' });
        assert.deepEqual(await store.apps.get(a.id, app.id), u);
        assert.equal((await store.apps.update(a.id, app.id, { hsts: null })).hsts, null);
        await rejectsWith(
          store.apps.update(a.id, app.id, { hsts: { maxAge: -1, includeSubDomains: false } }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(
          store.apps.update(a.id, app.id, {
            sessionCookie: { persistent: 'never', lifetimeSeconds: 1, sameSite: 'Lax' },
          }),
          'DB-ADMIN-INVALID',
        );
        const made = await store.apps.create(a.id, {
          ...appInput(ga.id, 'web', 'https://web.example.com'),
          hsts: { maxAge: 60, includeSubDomains: false },
          sessionCookie: { sameSite: 'None' },
        });
        assert.deepEqual(made.hsts, { maxAge: 60, includeSubDomains: false });
        assert.deepEqual(made.sessionCookie, { persistent: 'user', lifetimeSeconds: null, sameSite: 'None' });
      });
      it("tenant B can never read, update or delete tenant A's app", async () => {
        const app = await store.apps.create(a.id, appInput(ga.id, 'hr', 'https://hr.example.com'));
        assert.equal(await store.apps.get(b.id, app.id), null);
        assert.deepEqual(await store.apps.list(b.id), []);
        await rejectsWith(store.apps.update(b.id, app.id, { enabled: false }), 'DB-ADMIN-NOT-FOUND');
        await rejectsWith(store.apps.delete(b.id, app.id), 'DB-ADMIN-NOT-FOUND');
        assert.equal((await store.apps.get(a.id, app.id))?.enabled, true);
        await rejectsWith(store.apps.update(a.id, app.id, { groupId: gb.id }), 'DB-ADMIN-NOT-FOUND');
      });
    });

    describe('audit log', () => {
      it('pages newest first with a cursor, filters by action, and is scoped by tenant', async () => {
        for (let i = 0; i < 7; i++) {
          await store.audit.append({
            tenantId: a.id,
            actor: 'admin',
            action: i % 2 ? 'app.created' : 'app.deleted',
            target: `app_${i}`,
            detail: { i },
          });
        }
        await store.audit.append({ tenantId: b.id, actor: 'admin', action: 'app.created', target: null, detail: {} });
        const first = await store.audit.list(a.id, { limit: 3 });
        assert.deepEqual(
          first.items.map((e) => e.detail.i),
          [6, 5, 4],
        );
        assert.ok(first.next);
        const second = await store.audit.list(a.id, { limit: 3, cursor: first.next });
        assert.deepEqual(
          second.items.map((e) => e.detail.i),
          [3, 2, 1],
        );
        const third = await store.audit.list(a.id, { limit: 3, cursor: second.next! });
        assert.deepEqual(
          third.items.map((e) => e.detail.i),
          [0],
        );
        assert.equal(third.next, null);
        const created = await store.audit.list(a.id, { action: 'app.created' });
        assert.deepEqual(
          created.items.map((e) => e.detail.i),
          [5, 3, 1],
        );
        assert.equal((await store.audit.list(a.id, { action: 'app.' })).items.length, 7);
        assert.equal((await store.audit.list(a.id, { target: 'app_2' })).items.length, 1);
        const onlyB = await store.audit.list(b.id);
        assert.equal(onlyB.items.length, 1);
        assert.equal(onlyB.items[0].tenantId, b.id);
        assert.match(onlyB.items[0].id, /^aud_[0-9a-f]{16}$/);
        await rejectsWith(store.audit.list(a.id, { cursor: 'not-a-cursor' }), 'DB-ADMIN-INVALID');
      });
    });

    describe('edge nodes', () => {
      it('lists nodes while their heartbeat is fresh, refreshes on a new one, forgets a removed or silent node', async () => {
        const node = (id: string, inFlight = 0) => ({
          id,
          advertise: `https://${id}.example:8443`,
          version: '0.1.0',
          startedAt: '2030-01-01T00:00:00.000Z',
          inFlight,
          tunnels: [{ tenantId: a.id, connectorId: 'con_0000000000000001', groupId: ga.id, tunnels: 2 }],
        });
        await store.edgeNodes.heartbeat(node('edge-a'), 60_000);
        await store.edgeNodes.heartbeat(node('edge-b'), 60_000);
        await store.edgeNodes.heartbeat(node('edge-silent'), 100);
        await store.edgeNodes.heartbeat(node('edge-a', 7), 60_000);
        const deadline = Date.now() + 10_000;
        let ids: string[] = [];
        while (Date.now() < deadline) {
          ids = (await store.edgeNodes.list()).map((n) => n.id);
          if (!ids.includes('edge-silent')) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        assert.deepEqual(ids, ['edge-a', 'edge-b'], 'a node whose heartbeat outlived its TTL is gone');
        const [first] = await store.edgeNodes.list();
        assert.equal(first.inFlight, 7, 'the latest heartbeat wins');
        assert.deepEqual(first.tunnels, node('edge-a').tunnels);
        assert.equal(first.advertise, 'https://edge-a.example:8443');
        assert.equal(first.startedAt, '2030-01-01T00:00:00.000Z');
        assert.ok(Date.parse(first.lastSeenAt) > 0);
        await store.edgeNodes.remove('edge-a');
        assert.deepEqual(
          (await store.edgeNodes.list()).map((n) => n.id),
          ['edge-b'],
        );
      });
    });

    describe('edge keys', () => {
      const keyPem = '-----BEGIN PRIVATE KEY-----\nnot parsed by the store\n-----END PRIVATE KEY-----\n';
      it('keeps the first tunnel CA offered: a later offer gets the stored one back', async () => {
        assert.equal(await store.edgeKeys.getTunnelCa(), null);
        const first = await store.edgeKeys.initTunnelCa({ certPem: 'cert one', keyPem });
        assert.equal(first.certPem, 'cert one');
        assert.equal(first.keyPem, keyPem);
        assert.ok(Date.parse(first.createdAt) > 0);
        const second = await store.edgeKeys.initTunnelCa({ certPem: 'cert two', keyPem: 'key two' });
        assert.deepEqual(second, first);
        assert.deepEqual(await store.edgeKeys.getTunnelCa(), first);
      });

      it('racing offers of a tunnel CA and of a signing key agree on one winner', async () => {
        const cas = await Promise.all(
          [1, 2, 3, 4].map((i) => store.edgeKeys.initTunnelCa({ certPem: `cert ${i}`, keyPem: `key ${i}` })),
        );
        assert.equal(new Set(cas.map((c) => c.certPem)).size, 1);
        assert.equal(
          cas[0].keyPem,
          cas[0].certPem.replace('cert', 'key'),
          'the key that came with the winning certificate',
        );
        const lists = await Promise.all(
          [1, 2, 3, 4].map((i) => store.edgeKeys.ensureSigningKey({ kid: `kid-${i}`, privateJwk: `{"d":"${i}"}` })),
        );
        for (const keys of lists) {
          assert.equal(keys.length, 1);
          assert.deepEqual(keys, lists[0]);
        }
        assert.equal(lists[0][0].active, true);
      });

      it('publishes every signing key, one active; rotation adds the new active key and keeps the old published', async () => {
        assert.deepEqual(await store.edgeKeys.listSigningKeys(), []);
        const [k1] = await store.edgeKeys.ensureSigningKey({ kid: 'k1', privateJwk: '{"d":"one"}' });
        assert.deepEqual(
          { kid: k1.kid, privateJwk: k1.privateJwk, active: k1.active },
          { kid: 'k1', privateJwk: '{"d":"one"}', active: true },
        );
        assert.deepEqual(
          (await store.edgeKeys.ensureSigningKey({ kid: 'k9', privateJwk: '{}' })).map((k) => k.kid),
          ['k1'],
          'an active key stays',
        );
        const rotated = await store.edgeKeys.rotateSigningKey({ kid: 'k2', privateJwk: '{"d":"two"}' });
        assert.deepEqual(rotated.map((k) => [k.kid, k.active]).sort(), [
          ['k1', false],
          ['k2', true],
        ]);
        assert.deepEqual(await store.edgeKeys.listSigningKeys(), rotated);
        await rejectsWith(store.edgeKeys.removeSigningKey('k2'), 'DB-ADMIN-CONFLICT');
        await rejectsWith(store.edgeKeys.removeSigningKey('nope'), 'DB-ADMIN-NOT-FOUND');
        await store.edgeKeys.removeSigningKey('k1');
        const left = await store.edgeKeys.listSigningKeys();
        assert.deepEqual(
          left.map((k) => [k.kid, k.active, k.privateJwk]),
          [['k2', true, '{"d":"two"}']],
        );
      });
    });

    describe('conditional access', () => {
      it('stores named locations and policies per tenant, checks them, and refuses to delete a location in use', async () => {
        const events: ChangeEvent[] = [];
        store.onChange((e) => events.push(e));
        const office = await store.locations.create(a.id, {
          name: 'Office',
          cidrs: ['127.0.0.0/26'],
          countries: ['gb'],
        });
        assert.match(office.id, /^loc_[0-9a-f]{16}$/);
        assert.deepEqual([office.cidrs, office.countries], [['127.0.0.0/26'], ['GB']]);
        await rejectsWith(store.locations.create(a.id, { name: 'Office', cidrs: ['10.0.0.0/8'] }), 'DB-ADMIN-CONFLICT');
        await rejectsWith(store.locations.create(a.id, { name: 'bad', cidrs: ['10.0.0.0/40'] }), 'DB-ADMIN-INVALID');
        const policy = await store.policies.create(a.id, {
          name: 'MFA outside Office',
          conditions: { apps: ['app_0000000000000001'], locations: { exclude: [office.id] } },
          grant: { requireMfa: true },
        });
        assert.match(policy.id, /^pol_[0-9a-f]{16}$/);
        assert.equal(policy.state, 'on');
        assert.deepEqual(policy.conditions.locations, { include: 'any', exclude: [office.id] });
        assert.deepEqual(await store.policies.get(a.id, policy.id), policy);
        assert.equal(await store.policies.get(b.id, policy.id), null, 'scoped by tenant');
        assert.deepEqual(await store.locations.list(b.id), []);
        await rejectsWith(
          store.policies.create(b.id, {
            name: 'x',
            conditions: { locations: { include: [office.id] } },
            grant: { block: true },
          }),
          'DB-ADMIN-INVALID',
        );
        await rejectsWith(store.policies.create(a.id, { name: 'no grant' }), 'DB-ADMIN-INVALID');
        const updated = await store.policies.update(a.id, policy.id, {
          state: 'report-only',
          grant: { requirePhishingResistantMfa: true },
        });
        assert.equal(updated.state, 'report-only');
        assert.equal(updated.grant.requireMfa, true, 'a patch merges into the grant');
        assert.equal(updated.grant.requirePhishingResistantMfa, true);
        assert.deepEqual(updated.conditions.apps, ['app_0000000000000001']);
        const moved = await store.locations.update(a.id, office.id, { cidrs: ['192.0.2.0/24'] });
        assert.deepEqual([moved.name, moved.cidrs, moved.countries], ['Office', ['192.0.2.0/24'], ['GB']]);
        await rejectsWith(store.locations.delete(a.id, office.id), 'DB-ADMIN-CONFLICT');
        await store.policies.delete(a.id, policy.id);
        await rejectsWith(store.policies.delete(a.id, policy.id), 'DB-ADMIN-NOT-FOUND');
        await store.locations.delete(a.id, office.id);
        assert.deepEqual(await store.locations.list(a.id), []);
        assert.deepEqual(
          events.map((e) => `${e.kind} ${e.op}`),
          [
            'location created',
            'policy created',
            'policy updated',
            'location updated',
            'policy deleted',
            'location deleted',
          ],
        );
      });
    });

    describe('app certificates and ACME state', () => {
      const cert = (host: string, source: 'upload' | 'acme' = 'upload') => ({
        host,
        source,
        certPem: `cert for ${host}`,
        keyPem: `key for ${host}`,
        notAfter: '2030-01-01T00:00:00.000Z',
      });
      it('keeps one certificate per app (key opened again), replaces it, reports each change, and drops it with the app', async () => {
        const app = await store.apps.create(a.id, appInput(ga.id, 'shop', 'https://shop.contoso.test'));
        const events: ChangeEvent[] = [];
        const off = store.onChange((e) => events.push(e));
        assert.equal(await store.certificates.get(a.id, app.id), null);
        const first = await store.certificates.put(a.id, app.id, cert('shop.contoso.test'));
        assert.deepEqual(
          { ...first, updatedAt: '' },
          { tenantId: a.id, appId: app.id, ...cert('shop.contoso.test'), updatedAt: '' },
        );
        await store.certificates.put(a.id, app.id, { ...cert('shop.contoso.test', 'acme'), certPem: 'renewed' });
        const got = await store.certificates.get(a.id, app.id);
        assert.equal(got?.certPem, 'renewed');
        assert.equal(got?.source, 'acme');
        assert.equal(got?.keyPem, 'key for shop.contoso.test');
        assert.deepEqual(
          (await store.certificates.listAll()).map((c) => c.appId),
          [app.id],
        );
        assert.equal(await store.certificates.get(b.id, app.id), null, 'scoped by tenant');
        await rejectsWith(store.certificates.put(b.id, app.id, cert('x.test')), 'DB-ADMIN-NOT-FOUND');
        assert.equal(await store.certificates.delete(b.id, app.id), false);
        assert.equal(await store.certificates.delete(a.id, app.id), true);
        assert.equal(await store.certificates.delete(a.id, app.id), false);
        off();
        assert.deepEqual(
          events.map((e) => `${e.kind} ${e.op} ${e.id}`),
          [`certificate updated ${app.id}`, `certificate updated ${app.id}`, `certificate deleted ${app.id}`],
        );
        await store.certificates.put(a.id, app.id, cert('shop.contoso.test'));
        await store.apps.delete(a.id, app.id);
        assert.deepEqual(await store.certificates.listAll(), []);
      });
      it('keeps the first ACME account key per directory, and the challenge certificates by host', async () => {
        assert.equal(await store.certificates.initAcmeAccount('https://acme.test/dir', 'key one'), 'key one');
        assert.equal(await store.certificates.initAcmeAccount('https://acme.test/dir', 'key two'), 'key one');
        assert.equal(await store.certificates.initAcmeAccount('https://other.test/dir', 'key three'), 'key three');
        assert.equal(await store.certificates.getAcmeChallenge('shop.contoso.test'), null);
        await store.certificates.putAcmeChallenge({ host: 'shop.contoso.test', certPem: 'c1', keyPem: 'k1' });
        await store.certificates.putAcmeChallenge({ host: 'shop.contoso.test', certPem: 'c2', keyPem: 'k2' });
        assert.deepEqual(await store.certificates.getAcmeChallenge('shop.contoso.test'), {
          host: 'shop.contoso.test',
          certPem: 'c2',
          keyPem: 'k2',
        });
        await store.certificates.deleteAcmeChallenge('shop.contoso.test');
        assert.equal(await store.certificates.getAcmeChallenge('shop.contoso.test'), null);
      });
      it('runs one ACME holder at a time: a second caller is turned away while the first runs, then may run', async () => {
        let release!: () => void;
        const held = new Promise<void>((r) => {
          release = r;
        });
        let entered!: () => void;
        const inside = new Promise<void>((r) => {
          entered = r;
        });
        const first = store.certificates.withAcmeLock(async () => {
          entered();
          await held;
          return 'first';
        });
        await inside;
        assert.deepEqual(await store.certificates.withAcmeLock(async () => 'second'), { ran: false });
        release();
        assert.deepEqual(await first, { ran: true, value: 'first' });
        assert.deepEqual(await store.certificates.withAcmeLock(async () => 'third'), { ran: true, value: 'third' });
      });
    });

    describe('change events', () => {
      it('emits one event per mutation and stops after unsubscribe', async () => {
        const events: ChangeEvent[] = [];
        const off = store.onChange((e) => events.push(e));
        const g = await store.groups.create(a.id, { name: 'g2' });
        const app = await store.apps.create(a.id, appInput(g.id, 'hr', 'https://hr.example.com'));
        await store.apps.update(a.id, app.id, { enabled: false });
        await store.apps.delete(a.id, app.id);
        const c = await store.connectors.create(connectorInput(a.id, g.id));
        await store.connectors.update(a.id, c.id, { enabled: false });
        await store.connectors.delete(a.id, c.id);
        await store.groups.delete(a.id, g.id);
        const t = await store.tenants.create({ name: 'northwind' });
        off();
        await store.tenants.delete(t.id);
        assert.deepEqual(events, [
          { kind: 'group', tenantId: a.id, id: g.id, op: 'created' },
          { kind: 'app', tenantId: a.id, id: app.id, op: 'created' },
          { kind: 'app', tenantId: a.id, id: app.id, op: 'updated' },
          { kind: 'app', tenantId: a.id, id: app.id, op: 'deleted' },
          { kind: 'connector', tenantId: a.id, id: c.id, op: 'created' },
          { kind: 'connector', tenantId: a.id, id: c.id, op: 'updated' },
          { kind: 'connector', tenantId: a.id, id: c.id, op: 'deleted' },
          { kind: 'group', tenantId: a.id, id: g.id, op: 'deleted' },
          { kind: 'tenant', tenantId: t.id, id: t.id, op: 'created' },
        ]);
      });
      it('emits nothing for a refused mutation, and a throwing listener does not fail the write', async () => {
        const events: ChangeEvent[] = [];
        store.onChange(() => {
          throw new Error('listener bug');
        });
        store.onChange((e) => events.push(e));
        await rejectsWith(store.groups.create(a.id, { name: 'default' }), 'DB-ADMIN-CONFLICT');
        assert.deepEqual(events, []);
        const g = await store.groups.create(a.id, { name: 'fine' });
        assert.deepEqual(events, [{ kind: 'group', tenantId: a.id, id: g.id, op: 'created' }]);
      });
    });
  });
}
