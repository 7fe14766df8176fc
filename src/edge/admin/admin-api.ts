/**
 * The admin REST API (`/api/v1`), on its own listener. Every route needs a bearer token (the bootstrap token or an
 * administrator's token) and passes the role rules of authorization.ts; every failure is the catalogue's JSON error
 * with a correlation id; every mutation appends an audit event naming its actor. TypeBox
 * schemas validate requests, shape responses and make the OpenAPI document at `GET /api/v1/openapi.json`.
 */
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { newCorrelationId } from '../../lib/ids.ts';
import { LogField } from '../../lib/log.ts';
import { installAuthorization } from './authorization.ts';
import { adminContext } from './context.ts';
import { CORRELATION_HEADER, errorHandler, sendError } from './error-handler.ts';
import { appRoutes } from './routes/apps.ts';
import { appCertificateRoutes } from './routes/app-certificates.ts';
import { adminTokenRoutes } from './routes/admin-tokens.ts';
import { auditRoutes } from './routes/audit.ts';
import { connectorRoutes } from './routes/connectors.ts';
import { enrollmentTokenRoutes } from './routes/enrollment-tokens.ts';
import { groupRoutes } from './routes/groups.ts';
import { groupHealthRoutes } from './routes/groups-health.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { sharedSchemas } from './schemas.ts';
import type { AdminDeps } from './types.ts';

export type { AdminDeps, ConnectorLiveStatus } from './types.ts';

export const API_PREFIX = '/api/v1';
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;
/** The edge's Prometheus metrics on the admin listener (edge/metrics.ts). */
export const METRICS_PATH = '/metrics';

export async function createAdminApi(deps: AdminDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'admin-api' }) as FastifyBaseLogger,
    genReqId: () => newCorrelationId(),
    logController: new LogController({ requestIdLogLabel: LogField.correlationId }),
    bodyLimit: 1024 * 1024,
    // Unknown fields are refused rather than silently dropped, so a typo in a field name is an error.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });

  for (const schema of sharedSchemas) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Drawbridge admin API',
        version: '1',
        description: 'Tenants, connector groups, enrollment tokens, apps, connectors and the audit log.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    // Keep the schemas' own names ($id) in components/schemas instead of def-0, def-1…
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header(CORRELATION_HEADER, req.id);
  });
  // Authentication, then every route's rule (authorization.ts): roles, tenant and app scopes.
  installAuthorization(app, { store: deps.store, bootstrapToken: deps.token, prefix: API_PREFIX });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 'DB-ADMIN-NOT-FOUND', `no route ${req.method} ${req.url.split('?')[0]}`),
  );

  const metrics = deps.metrics;
  if (metrics) {
    app.get(METRICS_PATH, { schema: { hide: true } }, async (_req, reply) =>
      reply.type(metrics.contentType).send(await metrics.metrics()),
    );
  }
  const ctx = adminContext(deps);
  await app.register(
    async (api) => {
      api.get('/openapi.json', { schema: { tags: ['meta'], summary: 'This OpenAPI 3 document' } }, async () =>
        app.swagger(),
      );
      tenantRoutes(api, ctx);
      groupRoutes(api, ctx);
      groupHealthRoutes(api, ctx);
      enrollmentTokenRoutes(api, ctx);
      appRoutes(api, ctx);
      appCertificateRoutes(api, ctx);
      connectorRoutes(api, ctx);
      auditRoutes(api, ctx);
      adminTokenRoutes(api, ctx);
      for (const routes of deps.extraRoutes ?? []) routes(api, ctx);
    },
    { prefix: API_PREFIX },
  );

  await app.ready();
  return app;
}
