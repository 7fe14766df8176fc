/** Admin API for the sign-in log: filtered, paged queries and exports as JSON or CSV. */
import type { FastifyInstance } from 'fastify';
import type { DirectoryStore, SigninLogEntry, SigninLogFilter } from '../../store/directory-types.ts';
import type { AdminContext } from './context.ts';

const EXPORT_MAX = 100_000;
const COLUMNS: (keyof SigninLogEntry)[] = [
  'time',
  'event',
  'result',
  'code',
  'userId',
  'username',
  'appId',
  'clientIp',
  'userAgent',
  'authMethod',
  'mfaMethod',
  'correlationId',
  'id',
];

export function csvCell(value: unknown): string {
  const text =
    value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  // Quote always; neutralise spreadsheet formulas (CSV injection).
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

export function toCsv(entries: SigninLogEntry[]): string {
  const header = [...COLUMNS, 'detail'].join(',');
  return `${[header, ...entries.map((e) => [...COLUMNS.map((c) => csvCell(e[c])), csvCell(e.detail)].join(','))].join('\r\n')}\r\n`;
}

type Query = Omit<SigninLogFilter, 'limit'> & { limit?: string; format?: string };

export function signinLogRoutes(app: FastifyInstance, ctx: AdminContext, directory: DirectoryStore): void {
  const tags = ['sign-in log'];
  const filterOf = (q: Query): SigninLogFilter => ({
    userId: q.userId,
    username: q.username,
    appId: q.appId,
    result: q.result,
    code: q.code,
    event: q.event,
    clientIp: q.clientIp,
    since: q.since,
    until: q.until,
    cursor: q.cursor,
    limit: q.limit ? Number(q.limit) : undefined,
  });

  app.get<{ Params: { tenantId: string }; Querystring: Query }>(
    '/tenants/:tenantId/signin-log',
    {
      schema: {
        tags,
        summary:
          'Sign-in log, newest first: filter by userId, username, appId, result, code, event, clientIp, since, until; page with limit and cursor',
      },
    },
    async (req) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      return directory.signinLog.query(tenant.id, filterOf(req.query));
    },
  );

  app.get<{ Params: { tenantId: string }; Querystring: Query }>(
    '/tenants/:tenantId/signin-log/export',
    {
      schema: { tags, summary: 'Export the filtered sign-in log (format=csv or json), up to 100,000 entries' },
    },
    async (req, reply) => {
      const tenant = await ctx.tenant(req.params.tenantId);
      const entries: SigninLogEntry[] = [];
      let cursor: string | undefined;
      do {
        const page = await directory.signinLog.query(tenant.id, { ...filterOf(req.query), limit: 1000, cursor });
        entries.push(...page.items);
        cursor = page.next ?? undefined;
      } while (cursor && entries.length < EXPORT_MAX);
      const stamp = new Date().toISOString().slice(0, 19).replace(/:/g, '');
      if (req.query.format === 'csv') {
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="signin-log-${tenant.name}-${stamp}.csv"`)
          .send(toCsv(entries.slice(0, EXPORT_MAX)));
      }
      return reply
        .header('content-disposition', `attachment; filename="signin-log-${tenant.name}-${stamp}.json"`)
        .send({ items: entries.slice(0, EXPORT_MAX) });
    },
  );
}
