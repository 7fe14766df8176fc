/**
 * Versioned schema migrations, discovered the same way for both stores; each store keeps its own numbered folder
 * (`sqlite/migrations/`, `postgres/migrations/`), because their histories differ (PostgreSQL's starts with SQLite's
 * first four folded in).
 *
 * Adding one is dropping a file in the store's folder: `NNN-short-name.ts` (three digits, the next number,
 * kebab-case) that exports `up`, the SQL to run. Nothing else to register: `loadMigrations(dir)` discovers the files
 * by name, and the store applies every version it has not recorded in `schema_migrations`, in order, when it opens
 * the database. Never edit or renumber a file once committed (databases record the numbers): write a new one.
 * Rules for the SQL: every table has `tenant_id` (and every query on it is scoped by it); SQLite: times are ISO-8601
 * text, booleans INTEGER 0/1, tables STRICT; PostgreSQL: timestamptz, boolean, jsonb, bytea.
 */
import { readdirSync } from 'node:fs';

export interface Migration {
  version: number;
  name: string;
  up: string;
}

const FILE = /^(\d{3})-([a-z0-9-]+)\.ts$/;

export async function loadMigrations(dir: string): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const match = FILE.exec(file);
    if (!match || file.endsWith('.test.ts')) continue;
    const mod = (await import(new URL(file, `file://${dir.endsWith('/') ? dir : `${dir}/`}`).href)) as { up?: unknown };
    if (typeof mod.up !== 'string') throw new Error(`migration ${file} does not export up: string`);
    migrations.push({ version: Number(match[1]), name: match[2], up: mod.up });
  }
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migrations must be numbered 001, 002, … without gaps; found ${m.version} at position ${i + 1}`);
  });
  return migrations;
}
