import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { rejectsWith, runStoreContract } from '../contract.ts';
import { runDirectoryContract } from '../directory-contract.ts';
import { loadMigrations } from '../migrations.ts';
import { openStore } from '../open.ts';
import { DB_FILE, loadSqliteMigrations, openSqliteStore } from './index.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-store-'));
  dirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

runStoreContract('sqlite', () => openStore({ kind: 'sqlite', stateDir: tempDir() }));
runDirectoryContract('sqlite', () => openStore({ kind: 'sqlite', stateDir: tempDir() }));

describe('sqlite store specifics', () => {
  it('opens in WAL mode with foreign keys on and records applied migrations once', async () => {
    const dir = tempDir();
    const store = await openSqliteStore(dir);
    const t = await store.tenants.create({ name: 'contoso' });
    await store.close();
    const reopened = await openSqliteStore(dir); // migrations are not re-applied
    assert.equal((await reopened.tenants.get(t.id))?.name, 'contoso');
    await reopened.close();
    const db = new DatabaseSync(join(dir, DB_FILE));
    assert.equal((db.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
    const versions = db
      .prepare('SELECT version FROM schema_migrations ORDER BY version')
      .all()
      .map((r) => r.version);
    assert.deepEqual(
      versions,
      (await loadSqliteMigrations()).map((m) => m.version),
    );
    db.close();
  });

  it('stores only a hash of the enrollment secret', async () => {
    const dir = tempDir();
    const store = await openSqliteStore(dir);
    const t = await store.tenants.create({ name: 'contoso' });
    const g = await store.groups.create(t.id, { name: 'default' });
    const { token } = await store.enrollmentTokens.create(t.id, g.id, 60);
    await store.close();
    const db = new DatabaseSync(join(dir, DB_FILE));
    const dump = JSON.stringify(db.prepare('SELECT * FROM enrollment_tokens').all(), (_k, v) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('base64url') : v,
    );
    db.close();
    assert.ok(!dump.includes(token.split('.')[1]));
  });

  it('opens a database written before the migrations moved to sqlite/migrations/, applying nothing and reading everything', async () => {
    // Made by the store at commit 0ec5488 (migrations in store/migrations/, schema version 5): a tenant, an app, a user
    // with a password, a confirmed TOTP secret, a licence, an assignment, OIDC settings and one sign-in log entry.
    const fixture = new URL('./fixtures/', import.meta.url);
    const dir = tempDir();
    writeFileSync(join(dir, DB_FILE), gunzipSync(readFileSync(new URL('schema-005.db.gz', fixture))));
    copyFileSync(new URL('schema-005.identity.key', fixture), join(dir, 'identity.key'));
    const before = new DatabaseSync(join(dir, DB_FILE));
    const recorded = before.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all();
    before.close();
    assert.deepEqual(
      recorded.map((r) => [r.version, r.name]),
      [
        [1, 'core'],
        [2, 'identity'],
        [3, 'app-sso'],
        [4, 'app-retry-writes'],
        [5, 'connector-cert-renewal'],
      ],
    );
    assert.deepEqual(
      (await loadSqliteMigrations()).slice(0, 5).map((m) => [m.version, m.name]),
      recorded.map((r) => [r.version, r.name]),
    );

    const store = await openSqliteStore(dir);
    try {
      const tenant = await store.tenants.getByName('contoso');
      assert.ok(tenant);
      const [app] = await store.apps.list(tenant.id);
      assert.deepEqual([app.name, app.preAuth], ['hr', 'idp']);
      const directory = store.directory;
      const alice = await directory.users.findByLogin(tenant.id, 'alice');
      assert.ok(alice?.hasPassword);
      assert.deepEqual(
        [
          (await directory.mfa.getTotp(tenant.id, alice.id))?.secret,
          (await directory.mfa.getTotp(tenant.id, alice.id))?.confirmed,
        ],
        ['JBSWY3DPEHPK3PXP', true],
      );
      assert.equal((await directory.settings.get(tenant.id)).oidc?.clientSecret, 's3cret');
      // The single provider of the settings moved into the list of providers as `default`, still sealed.
      assert.deepEqual(
        (await directory.settings.providers(tenant.id)).map((p) => [p.id, p.clientSecret, p.domains]),
        [['default', 's3cret', []]],
      );
      assert.deepEqual((await directory.access.facts(tenant.id, alice.id))?.skus, ['basic']);
      assert.equal(await directory.assignments.isAssigned(tenant.id, app.id, alice.id), true);
      assert.deepEqual(
        (await directory.signinLog.query(tenant.id)).items.map((e) => [e.username, e.result]),
        [['alice', 'success']],
      );
    } finally {
      await store.close();
    }
    const reread = new DatabaseSync(join(dir, DB_FILE));
    const after = reread.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all();
    assert.deepEqual(after.slice(0, recorded.length), recorded, 'nothing re-applied');
    assert.deepEqual(
      after.slice(recorded.length).map((r) => r.version),
      (await loadSqliteMigrations()).slice(5).map((m) => m.version),
      'only the newer migrations applied',
    );
    reread.close();
  });

  it('seals TOTP secrets and the OIDC client secret at rest, with the key in the state directory', async () => {
    const dir = tempDir();
    const store = await openSqliteStore(dir);
    const t = await store.tenants.create({ name: 'contoso' });
    const u = await store.directory.users.create(t.id, { upn: 'alice' });
    await store.directory.mfa.setTotp(t.id, u.id, 'JBSWY3DPEHPK3PXP', true);
    await store.directory.settings.update(t.id, {
      oidc: {
        issuer: 'https://idp.example',
        clientId: 'c',
        clientSecret: 'oidc-s3cret',
        displayName: '',
        scopes: [],
        usernameClaim: '',
        groupsClaim: '',
        autoCreateUsers: true,
      },
    });
    await store.close();
    const db = new DatabaseSync(join(dir, DB_FILE));
    const dump = JSON.stringify([
      db.prepare('SELECT * FROM dir_totp').all(),
      db.prepare('SELECT * FROM dir_identity_settings').all(),
      db.prepare('SELECT * FROM dir_identity_providers').all(),
    ]);
    db.close();
    assert.ok(!dump.includes('JBSWY3DPEHPK3PXP') && !dump.includes('oidc-s3cret'));
    rmSync(join(dir, 'identity.key'));
    const rekeyed = await openSqliteStore(dir);
    try {
      await assert.rejects(rekeyed.directory.mfa.getTotp(t.id, u.id), 'another key cannot open it');
    } finally {
      await rekeyed.close();
    }
  });

  it('seals the edge secrets at rest; with identity.key replaced they refuse to open, with a code that says why', async () => {
    const dir = tempDir();
    const store = await openSqliteStore(dir);
    const keyPem = '-----BEGIN PRIVATE KEY-----\nTHE-CA-KEY-BODY\n-----END PRIVATE KEY-----\n';
    await store.edgeKeys.initTunnelCa({ certPem: 'cert', keyPem });
    await store.edgeKeys.ensureSigningKey({ kid: 'k1', privateJwk: '{"d":"THE-SIGNING-D"}' });
    const dump = JSON.stringify([
      store.db.prepare('SELECT * FROM edge_tunnel_ca').all(),
      store.db.prepare('SELECT * FROM edge_signing_keys').all(),
    ]);
    assert.ok(!dump.includes('THE-CA-KEY-BODY') && !dump.includes('THE-SIGNING-D'));
    await store.close();
    writeFileSync(join(dir, 'identity.key'), `${Buffer.alloc(32, 7).toString('base64url')}\n`);
    const replaced = await openSqliteStore(dir);
    try {
      await rejectsWith(replaced.edgeKeys.getTunnelCa(), 'DB-CONFIG-INVALID');
      await rejectsWith(replaced.edgeKeys.listSigningKeys(), 'DB-CONFIG-INVALID');
    } finally {
      await replaced.close();
    }
  });

  it('discovers migration files by their number and refuses gaps', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '001-a.ts'), "export const up = 'SELECT 1';\n");
    writeFileSync(join(dir, '002-b.ts'), "export const up = 'SELECT 2';\n");
    writeFileSync(join(dir, 'notes.md'), 'ignored');
    assert.deepEqual(
      (await loadMigrations(dir)).map((m) => [m.version, m.name]),
      [
        [1, 'a'],
        [2, 'b'],
      ],
    );
    writeFileSync(join(dir, '004-d.ts'), "export const up = 'SELECT 4';\n");
    await assert.rejects(loadMigrations(dir), /without gaps/);
  });
});
