/**
 * Admin API for security reports (reports.ts): `GET /tenants/:t/reports` lists them, `GET /tenants/:t/reports/:report`
 * answers one as JSON (`{ report, since, until, items }`) or, with `format=csv`, as a CSV download.
 * Query: `since`, `until` (ISO; default the last 30 days), `limit` (top lists, risky sign-ins).
 */
import type { FastifyInstance } from 'fastify';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { DirectoryStore } from '../../store/directory-types.ts';
import type { AdminContext } from './context.ts';
import {
  computeReport,
  isReportName,
  REPORT_NAMES,
  REPORTS,
  reportCsv,
  reportRange,
  type ReportLocator,
} from './reports.ts';

type Query = { since?: string; until?: string; limit?: string; format?: string };

export function reportRoutes(
  app: FastifyInstance,
  ctx: AdminContext,
  directory: DirectoryStore,
  locator: ReportLocator,
): void {
  const tags = ['security reports'];
  const appNames = async (tenantId: string) =>
    new Map((await ctx.store.apps.list(tenantId)).map((a) => [a.id, a.name]));

  app.get<{ Params: { tenantId: string } }>(
    '/tenants/:tenantId/reports',
    { schema: { tags, summary: 'The security reports available' } },
    async (req) => {
      await ctx.tenant(req.params.tenantId);
      return {
        items: REPORT_NAMES.map((name) => ({ name, summary: REPORTS[name].summary, columns: REPORTS[name].columns })),
      };
    },
  );

  app.get<{ Params: { tenantId: string; report: string }; Querystring: Query }>(
    '/tenants/:tenantId/reports/:report',
    {
      schema: {
        tags,
        summary: `One security report (${REPORT_NAMES.join(', ')}) as JSON, or CSV with format=csv; since/until (ISO, default the last 30 days), limit`,
      },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const name = req.params.report;
      if (!isReportName(name))
        throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `no report ${name}: one of ${REPORT_NAMES.join(', ')}`);
      const format = req.query.format ?? 'json';
      if (format !== 'json' && format !== 'csv') throw new DrawbridgeError('DB-ADMIN-INVALID', 'format: json or csv');
      const range = reportRange(req.query);
      const items = await computeReport({ directory, appNames, locator }, tenant.id, name, range);
      if (format === 'csv') {
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="${name}-${tenant.name}-${range.since.slice(0, 10)}-${range.until.slice(0, 10)}.csv"`,
          )
          .send(reportCsv(name, items));
      }
      return { report: name, since: range.since, until: range.until, items };
    },
  );
}
