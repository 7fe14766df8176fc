/**
 * Plugs pre-authentication into the core edge (`EdgeExtensions`): takes the store's directory,
 * creates the sign-in service, and hands the edge its `authenticate` hook and the `login.<domain>` system host.
 */
import type { EdgeExtensions } from '../edge.ts';
import type { DirectoryStore } from '../../store/directory-types.ts';
import type { Store } from '../../store/types.ts';
import { createSignin, type Signin } from './index.ts';
import { createRedisSessionStore } from './redis-sessions.ts';
import { createRedisEphemeralState } from '../../identity/redis-ephemeral-state.ts';
import { directoryRoutes } from '../admin/directory-routes.ts';
import { signinLogRoutes } from '../admin/signin-log-routes.ts';
import { reportRoutes } from '../admin/report-routes.ts';
import type { ReportLocator } from '../admin/reports.ts';

/**
 * Where the security reports place client addresses: the country database conditional access reads (opened on the
 * first report that needs it) and the tenant's named locations (from the store, read once for the rows of a report).
 */
export function reportLocator(store: Store): ReportLocator {
  let countries: Promise<CountryLookup> | null = null;
  const byTenant = new Map<string, { at: number; ranges: { name: string; ranges: AddressRanges }[] }>();
  return {
    async country(ip) {
      countries ??= openCountryLookup().catch(() => NO_COUNTRIES);
      return (await countries).country(ip);
    },
    async namedLocations(tenantId, ip) {
      // One read of the tenant's locations serves every row of a report (kept for a few seconds).
      let entry = byTenant.get(tenantId);
      if (!entry || Date.now() - entry.at > 5_000) {
        const locations = await store.locations.list(tenantId);
        entry = {
          at: Date.now(),
          ranges: locations
            .filter((l) => l.cidrs.length > 0)
            .map((l) => ({ name: l.name, ranges: new AddressRanges(l.cidrs) })),
        };
        byTenant.set(tenantId, entry);
      }
      return entry.ranges.filter((l) => l.ranges.has(ip)).map((l) => l.name);
    },
  };
}
import { policyRoutes } from '../admin/policy-routes.ts';
import { serviceTokenRoutes } from '../admin/service-token-routes.ts';
import { NO_COUNTRIES, openCountryLookup, type CountryLookup } from '../access/countries.ts';
import { AddressRanges } from '../../lib/address-ranges.ts';
import { createGatewayAccess } from '../rdg/access.ts';

/** The directory of an open store (`store.directory`; the store knows its own state directory and key ring). */
export function openDirectory(store: Store, _stateDir?: string): DirectoryStore {
  return store.directory;
}

export function signinExtension(onReady?: (signin: Signin, directory: DirectoryStore) => void): EdgeExtensions {
  return {
    async setup({ store, config, logger, publicPort, metrics }) {
      const directory = openDirectory(store, config.stateDir);
      // `sessions: { kind: redis }` puts sessions and the ephemeral state (codes, flows, rate limits, lockout counts)
      // in the same Redis, so every node of a cluster sees them; otherwise both stay in this process.
      const redis =
        config.sessions?.kind === 'redis' ? { url: config.sessions.url, keyPrefix: config.sessions.keyPrefix } : null;
      const sessions = redis ? createRedisSessionStore(redis) : undefined;
      const state = redis ? createRedisEphemeralState(redis) : undefined;
      const signin = await createSignin(
        {
          store,
          directory,
          domain: config.domain,
          publicPort,
          stateDir: config.stateDir,
          logger: logger.child({ component: 'signin' }),
          countSignin: metrics && ((event, result) => metrics.signIn(event, result)),
        },
        { sessions, state },
      );
      onReady?.(signin, directory);
      return {
        authenticate: signin.authenticate,
        track: signin.cae.track,
        gateway: createGatewayAccess({
          keys: store.identityKeys,
          sessions: signin.sessions,
          directory,
          cae: signin.cae,
        }),
        authorizeChannel: signin.authorizeChannel,
        cliLogin: signin.cliLogin,
        systemHosts: new Map([[signin.loginHost, signin.handleLoginRequest]]),
        close: () => signin.close(),
        adminRoutes: [
          (api, ctx) => directoryRoutes(api, ctx, { directory, revokeUser: signin.revokeUser }),
          (api, ctx) => signinLogRoutes(api, ctx, directory),
          (api, ctx) => reportRoutes(api, ctx, directory, reportLocator(store)),
          (api, ctx) => policyRoutes(api, ctx, directory),
          (api, ctx) => serviceTokenRoutes(api, ctx, directory),
        ],
      };
    },
  };
}
