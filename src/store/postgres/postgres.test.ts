/**
 * The PostgreSQL store against a real server: DRAWBRIDGE_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test
 * (CI starts one). Every store opened here gets a schema of its own (search_path in the URL), dropped at the end, so
 * parallel runs never collide. An unreachable server FAILS these tests with a message saying so: they never skip.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { loadOrCreateTunnelCa } from '../../edge/enroll/tunnel-ca.ts';
import { jwksDocument, loadOrCreateSigningKeys } from '../../edge/sso/assertion.ts';
import { rejectsWith, runStoreContract } from '../contract.ts';
import { runDirectoryContract } from '../directory-contract.ts';
import { newId } from '../ids.ts';
import { openStore } from '../open.ts';
import type { ChangeEvent, Store } from '../types.ts';
import { channelFor } from './changes.ts';
import { loadPostgresMigrations, openPostgresStore } from './index.ts';
import { migrate } from './migrate.ts';

const BASE_URL = process.env.DRAWBRIDGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUN = `drawbridge_test_${process.pid}_${randomBytes(4).toString('hex')}`;
const admin = new pg.Pool({ connectionString: BASE_URL, max: 2, connectionTimeoutMillis: 5000 });
const schemas: string[] = [];

let reachable: Promise<void> | undefined;
function requirePostgres(): Promise<void> {
  reachable ??= admin.query('SELECT 1').then(
    () => undefined,
    (err: Error) => {
      throw new Error(
        `PostgreSQL is not reachable at ${BASE_URL} (${err.message || (err as { code?: string }).code || String(err)}). ` +
          'These tests need it and never skip: start PostgreSQL (CI does) or set DRAWBRIDGE_TEST_POSTGRES_URL.',
        { cause: err },
      );
    },
  );
  return reachable;
}

function urlFor(schema: string): string {
  const url = new URL(BASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return url.href;
}

/** A new empty schema; returns its name and the URL whose search_path selects it. */
async function freshSchema(): Promise<{ schema: string; url: string }> {
  await requirePostgres();
  const schema = `${RUN}_${schemas.length + 1}`;
  schemas.push(schema);
  await admin.query(`CREATE SCHEMA ${schema}`);
  return { schema, url: urlFor(schema) };
}

after(async () => {
  try {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await admin.end();
  }
});

async function waitFor(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sortEvents = (events: ChangeEvent[]): string[] => events.map((e) => JSON.stringify(e)).sort();

runStoreContract('postgres', async () => openStore({ kind: 'postgres', url: (await freshSchema()).url }));
runDirectoryContract('postgres', async () => openStore({ kind: 'postgres', url: (await freshSchema()).url }));

describe('postgres store specifics', () => {
  it('records migrations once: applying them again is a no-op', async () => {
    const { url } = await freshSchema();
    const store = await openPostgresStore(url);
    const t = await store.tenants.create({ name: 'contoso' });
    await store.close();
    const reopened = await openPostgresStore(url);
    assert.equal((await reopened.tenants.get(t.id))?.name, 'contoso');
    const migrations = await loadPostgresMigrations();
    assert.deepEqual(await migrate(reopened.pool, migrations), []);
    const { rows } = await reopened.pool.query('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      rows.map((r: { version: number }) => r.version),
      migrations.map((m) => m.version),
    );
    await reopened.close();
  });

  it('lets several nodes start at once on an empty schema: one migrates under the advisory lock, the others wait', async () => {
    const { url } = await freshSchema();
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore(url)));
    try {
      const { rows } = await stores[0].pool.query('SELECT count(*)::int AS n FROM schema_migrations');
      assert.equal(rows[0].n, (await loadPostgresMigrations()).length);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses a database written by a newer Drawbridge', async () => {
    const { schema, url } = await freshSchema();
    await (await openPostgresStore(url)).close();
    await admin.query(
      `INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES (999, 'future', now())`,
    );
    await assert.rejects(openPostgresStore(url), /schema version 999 .* upgrade Drawbridge/);
  });

  it('uses proper column types', async () => {
    const { schema, url } = await freshSchema();
    await (await openPostgresStore(url)).close();
    const { rows } = await admin.query(
      "SELECT table_name || '.' || column_name AS col, data_type FROM information_schema.columns WHERE table_schema = $1",
      [schema],
    );
    const type = new Map(rows.map((r: { col: string; data_type: string }) => [r.col, r.data_type]));
    assert.equal(type.get('apps.enabled'), 'boolean');
    assert.equal(type.get('apps.sso'), 'jsonb');
    assert.equal(type.get('audit_events.detail'), 'jsonb');
    assert.equal(type.get('enrollment_tokens.expires_at'), 'timestamp with time zone');
    assert.equal(type.get('enrollment_tokens.secret_hash'), 'bytea');
  });

  it('stores only a hash of the enrollment secret', async () => {
    const { schema, url } = await freshSchema();
    const store = await openPostgresStore(url);
    const t = await store.tenants.create({ name: 'contoso' });
    const g = await store.groups.create(t.id, { name: 'default' });
    const { token } = await store.enrollmentTokens.create(t.id, g.id, 60);
    await store.close();
    const { rows } = await admin.query(
      `SELECT id, encode(secret_hash, 'base64') AS h, secret_hash::text AS hex FROM ${schema}.enrollment_tokens`,
    );
    const secret = token.split('.')[1];
    assert.ok(!JSON.stringify(rows).includes(secret));
    assert.ok(!JSON.stringify(rows).includes(Buffer.from(secret).toString('hex')));
  });

  it("two nodes on one database see each other's changes through onChange (LISTEN/NOTIFY), each exactly once", async () => {
    const { url } = await freshSchema();
    const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    try {
      const seenA: ChangeEvent[] = [];
      const seenB: ChangeEvent[] = [];
      a.onChange((e) => seenA.push(e));
      b.onChange((e) => seenB.push(e));
      const t = await a.tenants.create({ name: 'contoso' });
      const g = await b.groups.create(t.id, { name: 'default' });
      const app = await a.apps.create(t.id, {
        name: 'hr',
        groupId: g.id,
        externalUrl: 'https://hr.example.com',
        internalUrl: 'http://hr:8080',
      });
      await b.apps.update(t.id, app.id, { enabled: false });
      const expected = sortEvents([
        { kind: 'tenant', tenantId: t.id, id: t.id, op: 'created' },
        { kind: 'group', tenantId: t.id, id: g.id, op: 'created' },
        { kind: 'app', tenantId: t.id, id: app.id, op: 'created' },
        { kind: 'app', tenantId: t.id, id: app.id, op: 'updated' },
      ]);
      await waitFor('both nodes to hear all four changes', () => seenA.length >= 4 && seenB.length >= 4);
      // A last change from each side, heard by both, proves any echo of the earlier ones would have arrived by now.
      const marker = await a.tenants.create({ name: 'marker' });
      const last = await b.apps.delete(t.id, app.id);
      await waitFor('the markers', () => seenA.length >= 6 && seenB.length >= 6);
      assert.equal(last, undefined);
      const tail = sortEvents([
        { kind: 'tenant', tenantId: marker.id, id: marker.id, op: 'created' },
        { kind: 'app', tenantId: t.id, id: app.id, op: 'deleted' },
      ]);
      assert.deepEqual(sortEvents(seenA), [...expected, ...tail].sort());
      assert.deepEqual(sortEvents(seenB), [...expected, ...tail].sort());
      // A node's own change is delivered before its mutation resolves (the contract relies on that, as with SQLite).
      assert.ok(seenA.some((e) => e.id === t.id) && seenB.some((e) => e.id === g.id));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('hears a change notified by any connection on the channel, and ignores malformed payloads', async () => {
    const { schema, url } = await freshSchema();
    const store = await openPostgresStore(url);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      assert.equal(store.channel, channelFor(schema));
      const seen: ChangeEvent[] = [];
      store.onChange((e) => seen.push(e));
      const event: ChangeEvent = { kind: 'app', tenantId: newId('tnt'), id: newId('app'), op: 'updated' };
      await admin.query('SELECT pg_notify($1, $2)', [store.channel, '{"kind":"nope"}']);
      await admin.query('SELECT pg_notify($1, $2)', [store.channel, JSON.stringify(event)]);
      await waitFor('the notification', () => seen.length === 1);
      assert.deepEqual(seen, [event]);
      await waitFor('the warning', () => warnings.some((w) => w.includes('malformed change notification')));
    } finally {
      process.off('warning', onWarning);
      await store.close();
    }
  });

  it('reconnects the listening connection when it drops, and hears changes again', async () => {
    const { url } = await freshSchema();
    const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const seen: ChangeEvent[] = [];
      b.onChange((e) => seen.push(e));
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND query = $1',
        [`LISTEN "${b.channel}"`],
      );
      assert.equal(killed.rowCount, 2, "both nodes' listening connections");
      await waitFor('the warning', () => warnings.some((w) => w.includes('lost the PostgreSQL change listener')));
      let listening = 0;
      for (
        const deadline = Date.now() + 5000;
        listening < 2 && Date.now() < deadline;
        await new Promise((resolve) => setTimeout(resolve, 50))
      ) {
        listening = (
          await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1', [
            `LISTEN "${b.channel}"`,
          ])
        ).rows[0].n;
      }
      assert.equal(listening, 2, 'both nodes listen again');
      const t = await a.tenants.create({ name: 'contoso' });
      await waitFor('the change after reconnecting', () => seen.some((e) => e.id === t.id));
    } finally {
      process.off('warning', onWarning);
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('concurrent token consumption across nodes has exactly one winner', async () => {
    const { url } = await freshSchema();
    const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    try {
      const t = await a.tenants.create({ name: 'contoso' });
      const g = await a.groups.create(t.id, { name: 'default' });
      for (let round = 0; round < 5; round++) {
        const { token } = await a.enrollmentTokens.create(t.id, g.id, 60);
        const ids = Array.from({ length: 12 }, () => newId('con'));
        const results = await Promise.allSettled(
          ids.map((id, i) => ((i % 2 ? a : b) as Store).enrollmentTokens.consume(token, id, new Date())),
        );
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [ids[i]] : []));
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
        for (const r of results) {
          if (r.status === 'rejected') await rejectsWith(Promise.reject(r.reason), 'DB-ENROLL-TOKEN-INVALID');
        }
        const row = (await b.enrollmentTokens.list(t.id)).find((x) => token.startsWith(`dbe_${x.id}.`));
        assert.equal(row?.connectorId, winners[0]);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('directory: nodes starting together agree on one identity key; what one seals, another opens; nothing secret is stored in clear', async () => {
    const { schema, url } = await freshSchema();
    const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    try {
      assert.deepEqual(a.identityKeys.key('totp'), b.identityKeys.key('totp'));
      const t = await a.tenants.create({ name: 'contoso' });
      const u = await a.directory.users.create(t.id, { upn: 'alice', password: 'correct horse battery staple' });
      await a.directory.mfa.setTotp(t.id, u.id, 'JBSWY3DPEHPK3PXP', true);
      const oidc = {
        issuer: 'https://idp.example',
        clientId: 'c',
        clientSecret: 'oidc-s3cret',
        displayName: '',
        scopes: [],
        usernameClaim: '',
        groupsClaim: '',
        autoCreateUsers: true,
      };
      await a.directory.settings.update(t.id, { oidc });
      assert.equal((await b.directory.mfa.getTotp(t.id, u.id))?.secret, 'JBSWY3DPEHPK3PXP');
      assert.equal((await b.directory.settings.get(t.id)).oidc?.clientSecret, 'oidc-s3cret');
      const { rows } =
        await admin.query(`SELECT (SELECT json_agg(t) FROM ${schema}.dir_totp t) AS totp, (SELECT json_agg(s) FROM ${schema}.dir_identity_settings s) AS settings,
        (SELECT json_agg(u) FROM ${schema}.dir_users u) AS users, (SELECT json_agg(p) FROM ${schema}.dir_identity_providers p) AS providers`);
      const dump = JSON.stringify(rows);
      assert.ok(!dump.includes('JBSWY3DPEHPK3PXP') && !dump.includes('oidc-s3cret') && !dump.includes('correct horse'));
      const { rows: keys } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.identity_keys`);
      assert.equal(keys[0].n, 1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('edge keys: nodes starting together on an empty schema end up with one tunnel CA and one signing key, sealed at rest', async () => {
    const { schema, url } = await freshSchema();
    const dirs = await Promise.all([1, 2, 3].map(() => mkdtemp(join(tmpdir(), 'drawbridge-pg-node-'))));
    const stores = await Promise.all(dirs.map(() => openPostgresStore(url)));
    try {
      const started = await Promise.all(
        stores.map(async (store, i) => {
          const [ca, keys] = await Promise.all([
            loadOrCreateTunnelCa(store, dirs[i], 'tunnel.apps.localhost'),
            loadOrCreateSigningKeys(store, dirs[i]),
          ]);
          return { ca, keys };
        }),
      );
      for (const { ca, keys } of started) {
        assert.equal(ca.caCertPem, started[0].ca.caCertPem, 'one CA');
        assert.equal(jwksDocument(keys.published), jwksDocument(started[0].keys.published), 'one JWKS');
        assert.equal(keys.active.kid, started[0].keys.active.kid);
      }
      assert.equal(started[0].keys.published.length, 1);
      const { rows } = await admin.query(
        `SELECT (SELECT json_agg(c) FROM ${schema}.edge_tunnel_ca c) AS ca, (SELECT json_agg(k) FROM ${schema}.edge_signing_keys k) AS keys`,
      );
      assert.equal(rows[0].ca.length, 1);
      const stored = await stores[1].edgeKeys.getTunnelCa();
      const [signing] = await stores[2].edgeKeys.listSigningKeys();
      const dump = JSON.stringify(rows);
      const keyBody = stored!.keyPem.split('\n')[1];
      assert.ok(keyBody.length > 20 && !dump.includes(keyBody), 'the CA private key is not stored in clear');
      const d = (JSON.parse(signing.privateJwk) as { d: string }).d;
      assert.ok(d.length > 20 && !dump.includes(d), 'the signing key is not stored in clear');
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
    }
  });

  it('directory: one-time values and seat counts hold across nodes racing each other', async () => {
    const { url } = await freshSchema();
    const [a, b] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
    try {
      const t = await a.tenants.create({ name: 'contoso' });
      const users = await Promise.all(
        ['alice', 'bob', 'carol', 'dave'].map((upn) => a.directory.users.create(t.id, { upn })),
      );
      const alice = users[0];
      await a.directory.mfa.setTotp(t.id, alice.id, 'JBSWY3DPEHPK3PXP', true);
      await a.directory.mfa.setRecoveryCodes(t.id, alice.id, ['h1']);
      await a.directory.licences.setSeats(t.id, 'basic', 1);
      const node = (i: number) => (i % 2 ? a : b).directory;
      for (let round = 0; round < 3; round++) {
        const steps = await Promise.all(
          Array.from({ length: 8 }, (_, i) => node(i).mfa.useTotpStep(t.id, alice.id, 5000 + round)),
        );
        assert.equal(steps.filter(Boolean).length, 1, `round ${round}: one node accepts the step`);
      }
      const codes = await Promise.all(
        Array.from({ length: 8 }, (_, i) => node(i).mfa.useRecoveryCode(t.id, alice.id, 'h1')),
      );
      assert.equal(codes.filter(Boolean).length, 1);
      const seats = await Promise.allSettled(
        users.map((u, i) => node(i).licences.assign(t.id, 'basic', { type: 'user', id: u.id })),
      );
      assert.equal(seats.filter((r) => r.status === 'fulfilled').length, 1, 'one seat, one holder');
      for (const r of seats)
        if (r.status === 'rejected') await rejectsWith(Promise.reject(r.reason), 'DB-ADMIN-CONFLICT');
      assert.deepEqual(
        (await b.directory.licences.list(t.id)).map((l) => l.used),
        [1],
      );
      const synced = await Promise.all(
        users.map((u, i) => node(i).groups.syncExternal(t.id, u.id, [{ externalId: 'eng', name: 'Engineering' }])),
      );
      assert.equal(synced.length, 4);
      const [eng] = await a.directory.groups.list(t.id);
      assert.equal((await b.directory.groups.members(t.id, eng.id)).length, 4, 'one group made, everyone in it');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('directory: proper column types', async () => {
    const { schema, url } = await freshSchema();
    await (await openPostgresStore(url)).close();
    const { rows } = await admin.query(
      "SELECT table_name || '.' || column_name AS col, data_type FROM information_schema.columns WHERE table_schema = $1",
      [schema],
    );
    const type = new Map(rows.map((r: { col: string; data_type: string }) => [r.col, r.data_type]));
    assert.equal(type.get('dir_users.enabled'), 'boolean');
    assert.equal(type.get('dir_users.locked_until'), 'timestamp with time zone');
    assert.equal(type.get('dir_webauthn_credentials.transports'), 'jsonb');
    assert.equal(type.get('signin_log.detail'), 'jsonb');
    assert.equal(type.get('signin_log.time'), 'timestamp with time zone');
    assert.equal(type.get('identity_keys.master'), 'bytea');
  });

  it('fails to open with a clear message, without the password, when the server cannot be reached', async () => {
    await assert.rejects(
      openStore({ kind: 'postgres', url: 'postgres://postgres:s3cret@127.0.0.1:1/test' }),
      (err: Error) => {
        assert.match(
          err.message,
          /cannot open the PostgreSQL store at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/test: .*ECONNREFUSED/,
        );
        assert.ok(!err.message.includes('s3cret'));
        return true;
      },
    );
  });
});
