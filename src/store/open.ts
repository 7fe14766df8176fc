/** The single entry callers use to open the configured store (PostgreSQL joins as another `kind`). */
import { openSqliteStore } from './sqlite/index.ts';
import type { Store } from './types.ts';

export type StoreConfig = { kind: 'sqlite'; stateDir: string };

export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'sqlite':
      return openSqliteStore(config.stateDir);
  }
}
