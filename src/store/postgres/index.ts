/**
 * The cluster store: PostgreSQL through `pg`, shared by every edge node. Same contracts as the SQLite store
 * (`contract.ts`, `directory-contract.ts`); the directory's secrets are sealed with a key ring kept in the database
 * (keys.ts); changes reach every node through LISTEN/NOTIFY (`changes.ts`). Tables live in the first schema of the
 * connection's search_path (`?options=-c%20search_path%3Dname` in the URL picks another than `public`).
 */
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Pool } from 'pg';
import { loadMigrations } from '../migrations.ts';
import type { KeyRing } from '../../identity/keys.ts';
import type { Store } from '../types.ts';
import { appsRepo } from './apps.ts';
import { auditRepo } from './audit.ts';
import { type ChangeBus, channelFor, openChangeBus } from './changes.ts';
import { connectorsRepo } from './connectors.ts';
import { createPostgresDirectory } from './directory.ts';
import { type Ctx, one } from './db.ts';
import { certificatesRepo } from './certificates.ts';
import { edgeKeysRepo } from './edge-keys.ts';
import { withAccessEvents } from '../directory-events.ts';
import { edgeNodesRepo } from './edge-nodes.ts';
import { enrollmentTokensRepo } from './enrollment-tokens.ts';
import { adminTokensRepo } from './admin-tokens.ts';
import { groupsRepo } from './groups.ts';
import { loadIdentityKeys } from './keys.ts';
import { migrate } from './migrate.ts';
import { tenantsRepo } from './tenants.ts';
import { policyRepos } from './policies.ts';

const POOL_MAX = 10;
const CONNECT_TIMEOUT_MS = 10_000;

export interface PostgresStore extends Store {
  readonly pool: Pool;
  /** The LISTEN/NOTIFY channel change events travel on. */
  readonly channel: string;
}

export function loadPostgresMigrations(): ReturnType<typeof loadMigrations> {
  return loadMigrations(fileURLToPath(new URL('./migrations/', import.meta.url)));
}

/** The URL as safe to log: without its password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return 'the configured PostgreSQL URL';
  }
}

/** Node reports a refused connection to a name with two addresses as an AggregateError with an empty message. */
function describe(err: unknown): string {
  const e = err as { message?: string; code?: string; errors?: unknown[] };
  return e.message || e.code || (e.errors?.length ? describe(e.errors[0]) : String(err));
}

export async function openPostgresStore(url: string): Promise<PostgresStore> {
  const config = { connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS };
  const pool = new pg.Pool({ ...config, max: POOL_MAX });
  pool.on('error', (err) => process.emitWarning(`store: an idle PostgreSQL connection failed: ${err.message}`));
  let changes: ChangeBus;
  let identityKeys: KeyRing;
  try {
    await migrate(pool, await loadPostgresMigrations());
    identityKeys = await loadIdentityKeys(pool);
    const { schema } = (await one(pool, 'SELECT current_schema() AS schema')) as { schema: string };
    changes = await openChangeBus(config, channelFor(schema));
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`cannot open the PostgreSQL store at ${redactUrl(url)}: ${describe(err)}`, { cause: err });
  }
  const ctx: Ctx = { pool, changes };
  return {
    pool,
    channel: changes.channel,
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
    directory: withAccessEvents(createPostgresDirectory(ctx, identityKeys), (list) => changes.announce(pool, list)),
    identityKeys,
    onChange: (listener) => changes.subscribe(listener),
    async close() {
      await changes.close();
      if (!pool.ended) await pool.end();
    },
  };
}
