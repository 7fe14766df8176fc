/**
 * Pre-authentication for the edge: the central sign-in host and the app-host checks, behind one small interface.
 *
 *   const signin = await createSignin({ store, directory, domain, publicPort, stateDir, logger });
 *   if (host === signin.loginHost) return signin.handleLoginRequest(req, res, correlationId);
 *   if (app.preAuth === 'idp') { const identity = await signin.authenticate(req, res, app, correlationId); if (!identity) return; … }
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createMemoryEphemeralState } from '../../identity/ephemeral-state.ts';
import { createRateLimiter } from '../../identity/rate-limit.ts';
import type { App } from '../../store/types.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import { authenticate } from './app-host.ts';
import type { Ctx, SigninDeps, SigninOptions } from './context.ts';
import { createLockoutBook } from './lockout.ts';
import { handleLoginRequest } from './login-host.ts';
import { signinAlternatives } from './methods.ts';
import { createMemorySessionStore, type SessionStore } from './sessions.ts';
import { createContinuousAccess, type ContinuousAccess } from '../cae/continuous-access.ts';
import { createPolicyCache } from '../access/policy-cache.ts';
import { createConditionalAccess } from './conditional-access.ts';
import { consoleHostOf } from './console-access.ts';
import { createChannelAuthorizer } from './tcp-access.ts';
import { handleCliLogin } from './cli-login.ts';
import { handleCliDevicePublic } from './cli-device.ts';
import type { CliLogin } from '../proxy/handler.ts';
import type { AuthorizeChannel } from '../proxy/tcp-channel.ts';

export type { SigninDeps, SigninOptions } from './context.ts';
export type { SessionStore, CentralSession, AppSession } from './sessions.ts';
export { createMemorySessionStore } from './sessions.ts';
export { seedDemoDirectory, seedDemoPolicies, type DemoUser } from './seed.ts';

export interface Signin {
  /** `login.<domain>` (no port). */
  loginHost: string;
  /** `https://login.<domain>[:port]`. */
  loginOrigin: string;
  /** Every request whose Host is loginHost. */
  handleLoginRequest(req: IncomingMessage, res: ServerResponse, correlationId: string): Promise<void>;
  /**
   * Every request to an app with preAuth `idp`. Null: the response was already sent (redirect to sign-in, callback,
   * sign-out, denial). An Identity: let the request through; Drawbridge's own cookies were removed from
   * `req.headers.cookie` so they never reach the backend.
   */
  authenticate(req: IncomingMessage, res: ServerResponse, app: App, correlationId: string): Promise<Identity | null>;
  /** TCP apps: a channel's bearer token → the access decision, sign-in log, continuous access, audit (tcp-access.ts). */
  authorizeChannel: AuthorizeChannel;
  /** TCP apps: the command line's browser sign-in, once pre-authentication has an identity (cli-login.ts). */
  cliLogin: CliLogin;
  /** Admin revocation: ends every session of the user at once, and on every node what they hold open. */
  revokeUser(tenantId: string, userId: string): Promise<number>;
  sessions: SessionStore;
  /** Continuous access evaluation (edge/cae/): `cae.track` is the request path's hook, `cae.addCheck` plugs policies in. */
  cae: ContinuousAccess;
  close(): Promise<void>;
}

export async function createSignin(deps: SigninDeps, options: SigninOptions = {}): Promise<Signin> {
  const loginHost = `login.${deps.domain.toLowerCase()}`;
  const port = () => (typeof deps.publicPort === 'function' ? deps.publicPort() : deps.publicPort);
  const origin = () => `https://${loginHost}${port() === 443 ? '' : `:${port()}`}`;
  const now = options.now ?? Date.now;
  const sessions = options.sessions ?? createMemorySessionStore({ now });
  const state = options.state ?? createMemoryEphemeralState({ now });
  const cae = createContinuousAccess({
    store: deps.store,
    directory: deps.directory,
    sessions,
    logger: deps.logger,
    now,
  });
  for (const check of options.sessionChecks ?? []) cae.addCheck(check);
  const ctx: Ctx = {
    deps,
    // The store's ring: on PostgreSQL every node signs and verifies cookies, states and CSRF tokens alike.
    keys: deps.store.identityKeys,
    sessions,
    state,
    loginHost,
    get loginOrigin() {
      return origin();
    },
    get consoleOrigin() {
      return `https://${consoleHostOf(deps.domain)}${port() === 443 ? '' : `:${port()}`}`;
    },
    ipLimiter: createRateLimiter({ limit: options.ipLimitPerMinute ?? 30, windowSeconds: 60, state, name: 'ip' }),
    accountLimiter: createRateLimiter({
      limit: options.accountLimitPerMinute ?? 10,
      windowSeconds: 60,
      state,
      name: 'account',
    }),
    lockout: createLockoutBook(deps.directory, state, now),
    signinAlternatives: (tenantId, stateText) => signinAlternatives(ctx, tenantId, stateText),
    recheckMs: (options.recheckSeconds ?? 300) * 1000,
    cae,
    access: createConditionalAccess({
      cache: createPolicyCache(deps.store),
      directory: deps.directory,
      logger: deps.logger,
      now,
    }),
    now,
  };
  return {
    loginHost,
    get loginOrigin() {
      return origin();
    },
    handleLoginRequest: (req, res, correlationId) => handleLoginRequest(ctx, req, res, correlationId),
    authenticate: (req, res, app, correlationId) => authenticate(ctx, req, res, app, correlationId),
    revokeUser: (tenantId, userId) => sessions.revokeUser(tenantId, userId),
    authorizeChannel: createChannelAuthorizer(ctx),
    cliLogin: {
      beforeAuth: (req, res, app) => handleCliDevicePublic(ctx, req, res, app),
      signedIn: (req, res, app, identity, correlationId) => handleCliLogin(ctx, req, res, app, identity, correlationId),
    },
    sessions,
    cae,
    close: async () => {
      cae.close();
      ctx.access.close();
      await Promise.all([sessions.close(), state.close()]);
    },
  };
}
