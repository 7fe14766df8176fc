import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { after, describe, it } from 'node:test';
import { runStoreContract } from '../contract.ts';
import { loadMigrations } from '../migrations/index.ts';
import { openStore } from '../open.ts';
import { DB_FILE, openSqliteStore } from './index.ts';

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
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all().map((r) => r.version);
    assert.deepEqual(versions, (await loadMigrations()).map((m) => m.version));
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
    const dump = JSON.stringify(db.prepare('SELECT * FROM enrollment_tokens').all(), (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64url') : v));
    db.close();
    assert.ok(!dump.includes(token.split('.')[1]));
  });

  it('discovers migration files by their number and refuses gaps', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '001-a.ts'), "export const up = 'SELECT 1';\n");
    writeFileSync(join(dir, '002-b.ts'), "export const up = 'SELECT 2';\n");
    writeFileSync(join(dir, 'notes.md'), 'ignored');
    assert.deepEqual((await loadMigrations(dir)).map((m) => [m.version, m.name]), [[1, 'a'], [2, 'b']]);
    writeFileSync(join(dir, '004-d.ts'), "export const up = 'SELECT 4';\n");
    await assert.rejects(loadMigrations(dir), /without gaps/);
  });
});
