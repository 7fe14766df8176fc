import type { DatabaseSync } from 'node:sqlite';
import type { Migration } from '../migrations.ts';
import { now, tx } from './db.ts';

/**
 * Applies every migration newer than the highest version recorded in `schema_migrations`, each in its own
 * transaction together with its bookkeeping row. A database written by a newer Drawbridge is refused.
 */
export function migrate(db: DatabaseSync, migrations: Migration[]): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT',
  );
  const applied: number[] = [];
  tx(db, () => {
    const { current } = db.prepare('SELECT coalesce(max(version), 0) AS current FROM schema_migrations').get() as {
      current: number;
    };
    const latest = migrations.at(-1)?.version ?? 0;
    if (current > latest) {
      throw new Error(
        `the database is at schema version ${current} but this Drawbridge knows only up to ${latest}; upgrade Drawbridge`,
      );
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.exec(m.up);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        now(),
      );
      applied.push(m.version);
    }
  });
  return applied;
}
