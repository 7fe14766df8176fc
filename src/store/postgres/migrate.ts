import type { Pool } from 'pg';
import type { Migration } from '../migrations.ts';
import { now } from './db.ts';

/** Advisory lock class for schema migrations ("Draw"); the object key is a hash of the schema being migrated. */
const MIGRATION_LOCK_CLASS = 0x44726177;

/**
 * Applies every migration newer than the highest version recorded in `schema_migrations`, all in one transaction
 * with their bookkeeping rows, under a transaction-scoped advisory lock: when several edge nodes start at once, one
 * migrates and the others wait, then find nothing left to do. A database written by a newer Drawbridge is refused.
 */
export async function migrate(pool: Pool, migrations: Migration[]): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query("SELECT pg_advisory_xact_lock($1, hashtext(coalesce(current_schema(), '')))", [
      MIGRATION_LOCK_CLASS,
    ]);
    // Created under the lock: concurrent CREATE TABLE IF NOT EXISTS can still collide on the catalogue.
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL)',
    );
    const { rows } = await client.query<{ current: number }>(
      'SELECT coalesce(max(version), 0) AS current FROM schema_migrations',
    );
    const current = rows[0].current;
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new Error(
        `the database is at schema version ${current} but this Drawbridge knows only up to ${latest}; upgrade Drawbridge`,
      );
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.up);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        m.version,
        m.name,
        now(),
      ]);
      applied.push(m.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackErr: Error) => {
      broken = rollbackErr;
    });
    throw err;
  } finally {
    client.release(broken);
  }
}
