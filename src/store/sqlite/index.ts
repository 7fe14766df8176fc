/** The embedded store: one SQLite file `<stateDir>/drawbridge.db` through Node's built-in `node:sqlite`. */
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { loadKeyRing, type KeyRing } from '../../identity/keys.ts';
import type { DirectoryStore } from '../directory-types.ts';
import { loadMigrations } from '../migrations.ts';
import type { Store } from '../types.ts';
import { appsRepo } from './apps.ts';
import { auditRepo } from './audit.ts';
import { connectorsRepo } from './connectors.ts';
import { createSqliteDirectory } from './directory.ts';
import { emit, type Ctx } from './db.ts';
import { certificatesRepo } from './certificates.ts';
import { edgeKeysRepo } from './edge-keys.ts';
import { withAccessEvents } from '../directory-events.ts';
import { edgeNodesRepo } from './edge-nodes.ts';
import { enrollmentTokensRepo } from './enrollment-tokens.ts';
import { adminTokensRepo } from './admin-tokens.ts';
import { groupsRepo } from './groups.ts';
import { migrate } from './migrate.ts';
import { tenantsRepo } from './tenants.ts';
import { policyRepos } from './policies.ts';
import { subscribeSafely } from '../change-listeners.ts';

export const DB_FILE = 'drawbridge.db';
const BUSY_TIMEOUT_MS = 5000;

/** The SQLite store also exposes its connection, for tests and tools that read the file directly. */
export interface SqliteStore extends Store {
  readonly db: DatabaseSync;
}

export function loadSqliteMigrations(): ReturnType<typeof loadMigrations> {
  return loadMigrations(fileURLToPath(new URL('./migrations/', import.meta.url)));
}

export async function openSqliteStore(stateDir: string): Promise<SqliteStore> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const db = new DatabaseSync(join(stateDir, DB_FILE), { enableForeignKeyConstraints: true });
  try {
    db.exec(
      `PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;`,
    );
    migrate(db, await loadSqliteMigrations());
  } catch (err) {
    db.close();
    throw err;
  }
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const ctx: Ctx = { db, events };
  // Made on first use: tools that open the store for configuration alone never create the identity key file.
  let keys: KeyRing | undefined;
  let directory: DirectoryStore | undefined;
  const identityKeys = (): KeyRing => (keys ??= loadKeyRing(stateDir));
  return {
    db,
    get identityKeys() {
      return identityKeys();
    },
    get directory() {
      return (directory ??= withAccessEvents(createSqliteDirectory(db, identityKeys()), (list) =>
        list.forEach((e) => emit(ctx, e)),
      ));
    },
    edgeNodes: edgeNodesRepo(ctx),
    edgeKeys: edgeKeysRepo(ctx, identityKeys),
    certificates: certificatesRepo(ctx, identityKeys),
    tenants: tenantsRepo(ctx),
    groups: groupsRepo(ctx),
    enrollmentTokens: enrollmentTokensRepo(ctx),
    adminTokens: adminTokensRepo(ctx),
    connectors: connectorsRepo(ctx),
    apps: appsRepo(ctx),
    audit: auditRepo(ctx),
    ...policyRepos(ctx),
    onChange(listener) {
      return subscribeSafely(events, listener);
    },
    async close() {
      if (db.isOpen) db.close();
    },
  };
}
