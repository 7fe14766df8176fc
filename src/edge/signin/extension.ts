/**
 * Plugs pre-authentication into the core edge (`EdgeExtensions`): opens the directory beside the SQLite store,
 * creates the sign-in service, and hands the edge its `authenticate` hook and the `login.<domain>` system host.
 */
import type { EdgeExtensions } from '../edge.ts';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { loadKeyRing } from '../../identity/keys.ts';
import type { DirectoryStore } from '../../store/directory-types.ts';
import { createSqliteDirectory } from '../../store/sqlite/directory.ts';
import type { SqliteStore } from '../../store/sqlite/index.ts';
import type { Store } from '../../store/types.ts';
import { createSignin, type Signin } from './index.ts';
import { createRedisSessionStore } from './redis-sessions.ts';
import { directoryRoutes } from '../admin/directory-routes.ts';
import { signinLogRoutes } from '../admin/signin-log-routes.ts';

/** The directory of an open store (SQLite today: it shares the store's connection). */
export function openDirectory(store: Store, stateDir: string): DirectoryStore {
  const db = (store as Partial<SqliteStore>).db;
  if (!db) {
    throw new DrawbridgeError('DB-CONFIG-INVALID',
      'the directory needs the SQLite store for now, and this edge is configured with store.kind postgres: use store.kind sqlite (the default) until the directory moves to PostgreSQL');
  }
  return createSqliteDirectory(db, loadKeyRing(stateDir));
}

export function signinExtension(onReady?: (signin: Signin, directory: DirectoryStore) => void): EdgeExtensions {
  return {
    async setup({ store, config, logger, publicPort }) {
      const directory = openDirectory(store, config.stateDir);
      const sessions = config.sessions?.kind === 'redis' ? createRedisSessionStore({ url: config.sessions.url, keyPrefix: config.sessions.keyPrefix }) : undefined;
      const signin = await createSignin({ store, directory, domain: config.domain, publicPort, stateDir: config.stateDir, logger: logger.child({ component: 'signin' }) }, { sessions });
      onReady?.(signin, directory);
      return {
        authenticate: signin.authenticate,
        systemHosts: new Map([[signin.loginHost, signin.handleLoginRequest]]),
        close: () => signin.close(),
        adminRoutes: [
          (api, ctx) => directoryRoutes(api, ctx, { directory, revokeUser: signin.revokeUser }),
          (api, ctx) => signinLogRoutes(api, ctx, directory),
        ],
      };
    },
  };
}
