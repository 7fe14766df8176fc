/**
 * Authorisation of TCP channels (issue 13; the channel itself is edge/proxy/tcp-channel.ts): the bearer token (a
 * service token, or a user's channel token from the command line's browser sign-in) →
 * an identity → the same access decision as a pre-authenticated app's sign-in (enabled, assigned, licensed, then
 * conditional access), each attempt in the sign-in log; the open channel is registered with continuous access
 * evaluation (disabling or unassigning the principal closes it) and each closed channel is audited with its
 * principal, app, target, bytes each way and duration.
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { App } from '../../store/types.ts';
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { Identity } from '../../tunnel/protocol.ts';
import { decideAccess } from '../access/decide.ts';
import type { AuthorizeChannel, ChannelGrant } from '../proxy/tcp-channel.ts';
import { recordKey, type AppSession } from './sessions.ts';
import type { Ctx } from './context.ts';
import { writeLog } from './steps.ts';
import { policyLog } from './conditional-access.ts';
import { clientIp, userAgent } from './http.ts';
import { verifyServiceToken } from './service-tokens.ts';
import { CHANNEL_TOKEN_PREFIX, readChannelToken } from './channel-token.ts';
import { AUTH_METHODS, type AuthMethod } from './names.ts';

const isAuthMethod = (m: string): m is AuthMethod => (AUTH_METHODS as readonly string[]).includes(m);

/** `Authorization: Bearer <token>`, or null. */
export function bearerToken(req: IncomingMessage): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match ? match[1] : null;
}

export function createChannelAuthorizer(ctx: Ctx): AuthorizeChannel {
  const { directory, store, logger } = ctx.deps;
  return async (req, app, correlationId) => {
    const token = bearerToken(req);
    const claims = token ? readChannelToken(ctx, token, app) : null;
    const userToken = token?.startsWith(CHANNEL_TOKEN_PREFIX) === true;
    const authMethods: AuthMethod[] = claims ? claims.m.filter(isAuthMethod) : ['service-token'];
    const base = {
      tenantId: app.tenantId,
      event: 'access' as const,
      appId: app.id,
      authMethod: authMethods[0] ?? null,
    };
    const deny = async (
      code: ErrorCode,
      entry: {
        userId?: string | null;
        username?: string | null;
        result?: 'failure' | 'denied';
        detail?: Record<string, unknown>;
      },
    ) => {
      await writeLog(ctx, req, correlationId, {
        ...base,
        result: entry.result ?? 'denied',
        code,
        userId: entry.userId ?? null,
        username: entry.username ?? null,
        detail: { channel: 'tcp', ...entry.detail },
      });
      return { ok: false as const, code };
    };
    if (!token) return deny('DB-TCP-TOKEN-MISSING', { result: 'failure' });
    // A user's channel token from the browser sign-in (cli-login.ts), or a service token.
    const { user, valid } = userToken
      ? { user: claims ? await directory.users.get(app.tenantId, claims.u) : null, valid: claims !== null }
      : await verifyServiceToken(directory, app.tenantId, token);
    if (userToken && (!user || !valid))
      return deny('DB-TCP-TOKEN-INVALID', {
        result: 'failure',
        detail: { reason: 'user token invalid, expired or for another app' },
      });
    if (!user || !valid)
      return deny('DB-TCP-TOKEN-INVALID', {
        result: 'failure',
        userId: user?.id ?? null,
        username: user?.upn ?? null,
        detail: { reason: user ? 'wrong-secret' : 'unknown-token' },
      });
    const facts = await directory.access.facts(app.tenantId, user.id);
    const assigned = facts ? await directory.assignments.appsForUser(app.tenantId, user.id) : [];
    const decision = decideAccess(facts, app.id, assigned);
    const who = { userId: user.id, username: user.upn };
    if (!decision.allow)
      return deny(decision.code, { ...who, detail: { reason: decision.reason, detail: decision.detail } });
    const groupIds = facts!.groups.map((g) => g.id);
    const ca = await ctx.access.atSignin(req, {
      tenantId: app.tenantId,
      userId: user.id,
      groupIds,
      appId: app.id,
      authMethods,
      authenticatedAt: claims?.iat ?? ctx.now(),
    });
    const caDetail = {
      policies: policyLog(ca.evaluation),
      risk: ca.risk,
      ...(ca.country ? { country: ca.country } : {}),
    };
    const verdict = ca.evaluation.verdict;
    if (!verdict.allow)
      return deny(verdict.code, {
        ...who,
        detail: {
          reason: 'conditional-access',
          policy: { id: verdict.policyId, name: verdict.policyName },
          ...caDetail,
        },
      });
    await writeLog(ctx, req, correlationId, {
      ...base,
      ...who,
      result: 'success',
      code: null,
      detail: { channel: 'tcp', reason: decision.reason, sku: decision.sku, ...caDetail },
    });

    const identity: Identity = {
      userId: user.id,
      tenantId: app.tenantId,
      upn: user.upn,
      displayName: user.displayName,
      email: user.email,
      onPremName: user.onPremName,
      groups: facts!.groups.map((g) => g.name),
      authMethods,
    };
    return { ok: true as const, grant: grant(app, identity, groupIds, req, correlationId) };
  };

  function grant(
    app: App,
    identity: Identity,
    groupIds: string[],
    req: IncomingMessage,
    correlationId: string,
  ): ChannelGrant {
    const now = ctx.now();
    // The channel's own session record for continuous access evaluation: no cookie, no central session behind it.
    const session: AppSession = {
      id: `tcp_${randomBytes(8).toString('hex')}`,
      centralId: `tcp_${randomBytes(16).toString('hex')}`,
      tenantId: app.tenantId,
      appId: app.id,
      userId: identity.userId,
      identity,
      persistent: false,
      createdAt: now,
      lastSeenAt: now,
      checkedAt: now,
      groupIds,
      idleSeconds: 0,
      absoluteSeconds: 0,
    };
    const facts = { appId: app.id, clientIp: clientIp(req), userAgent: userAgent(req), at: now };
    return {
      identity,
      track(closed, end) {
        ctx.cae.live.add({ kind: 'stream', session, centralKey: recordKey(session.centralId), facts, end }, closed);
      },
      finished(stats) {
        store.audit
          .append({
            tenantId: app.tenantId,
            actor: `user:${identity.userId}`,
            action: 'tcp.session',
            target: app.id,
            detail: {
              user: identity.upn,
              app: app.name,
              target: stats.target,
              bytesUp: stats.bytesUp,
              bytesDown: stats.bytesDown,
              durationMs: stats.durationMs,
              endedBy: stats.endedBy,
              connectorId: stats.connectorId,
              clientIp: facts.clientIp,
              correlationId,
            },
          })
          .catch((err: Error) => logger.error({ err, correlationId }, 'audit write failed'));
      },
    };
  }
}
