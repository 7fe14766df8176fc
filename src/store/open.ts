/** The single entry callers use to open the configured store: embedded SQLite, or PostgreSQL for a cluster. */
import { openSqliteStore } from './sqlite/index.ts';
import type { Store } from './types.ts';

export type StoreConfig = { kind: 'sqlite'; stateDir: string } | { kind: 'postgres'; url: string };

export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'sqlite':
      return openSqliteStore(config.stateDir);
    case 'postgres':
      // Loaded on demand: an embedded edge never needs `pg`.
      return (await import('./postgres/index.ts')).openPostgresStore(config.url);
  }
}
