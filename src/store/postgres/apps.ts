import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { App, Store } from '../types.ts';
import { BACKEND_TIMEOUT, checkBackendTimeout, checkInternalUrl, parseExternalUrl, requireSlug } from '../validate.ts';
import { type Ctx, type Queryable, type Row, all, guard, notFound, now, one, params, tx, cells } from './db.ts';
import { appFromRow } from '../rows.ts';
import { appPatchColumns, checkPreAuth, newAppJsonColumns } from '../rules.ts';

const toApp = (r: Row): App => appFromRow(r, cells);

const GROUP_EXISTS = 'SELECT 1 FROM connector_groups WHERE tenant_id = $1 AND id = $2';

/**
 * Checks the uniqueness rules inside the write transaction, so the message names the field that clashes (a
 * concurrent writer that slips past still hits the unique constraint: a conflict all the same).
 */
async function checkUnique(
  c: Queryable,
  tenantId: string,
  self: string | null,
  name: string | undefined,
  externalHost: string | undefined,
): Promise<void> {
  const sameName =
    name === undefined
      ? undefined
      : await one(c, 'SELECT id FROM apps WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  if (sameName && sameName.id !== self)
    throw new DrawbridgeError('DB-ADMIN-CONFLICT', `an app named ${name} already exists in this tenant`);
  const sameHost =
    externalHost === undefined
      ? undefined
      : await one(c, 'SELECT id FROM apps WHERE external_host = $1', [externalHost]);
  if (sameHost && sameHost.id !== self)
    throw new DrawbridgeError('DB-ADMIN-CONFLICT', `an app is already published at ${externalHost}`);
}

export function appsRepo(ctx: Ctx): Store['apps'] {
  const { pool } = ctx;
  return {
    async create(tenantId, input) {
      const name = requireSlug('name', input.name);
      const { externalUrl, externalHost } = parseExternalUrl(input.externalUrl);
      const internalUrl = checkInternalUrl(input.internalUrl);
      const preAuth = checkPreAuth(input.preAuth ?? 'idp');
      const backendTimeout = checkBackendTimeout(input.backendTimeout ?? BACKEND_TIMEOUT.default);
      const { sso, hsts, linkTranslation, sessionCookie } = newAppJsonColumns(input);
      const id = newId('app');
      const stamp = now();
      const row = await guard(
        `app ${name}`,
        tx(ctx, async (c, changed) => {
          if (!(await one(c, GROUP_EXISTS, [tenantId, input.groupId])))
            throw notFound('connector group', input.groupId);
          await checkUnique(c, tenantId, null, name, externalHost);
          const r = await one(
            c,
            `INSERT INTO apps (id, tenant_id, name, external_url, external_host, internal_url, group_id, pre_auth, backend_timeout, tls_verify,
             backend_ca, sso, hsts, link_translation, session_cookie, retry_writes, enabled, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18) RETURNING *`,
            [
              id,
              tenantId,
              name,
              externalUrl,
              externalHost,
              internalUrl,
              input.groupId,
              preAuth,
              backendTimeout,
              input.tlsVerify !== false,
              input.backendCa ?? null,
              sso,
              hsts,
              linkTranslation,
              sessionCookie,
              input.retryWrites === true,
              input.enabled !== false,
              stamp,
            ],
          );
          changed({ kind: 'app', tenantId, id, op: 'created' });
          return r as Row;
        }),
      );
      return toApp(row);
    },
    async get(tenantId, id) {
      const row = await one(pool, 'SELECT * FROM apps WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return row ? toApp(row) : null;
    },
    async list(tenantId) {
      return (await all(pool, 'SELECT * FROM apps WHERE tenant_id = $1 ORDER BY name', [tenantId])).map(toApp);
    },
    async listAll() {
      return (await all(pool, 'SELECT * FROM apps ORDER BY external_host')).map(toApp);
    },
    async update(tenantId, id, patch) {
      const { columns, externalHost } = appPatchColumns(patch);
      const { values, p } = params();
      const sets = [`updated_at = ${p(now())}`, ...columns.map(([column, value]) => `${column} = ${p(value)}`)];
      const row = await guard(
        `app ${id}`,
        tx(ctx, async (c, changed) => {
          if (!(await one(c, 'SELECT 1 FROM apps WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id])))
            throw notFound('app', id);
          if (patch.groupId !== undefined && !(await one(c, GROUP_EXISTS, [tenantId, patch.groupId])))
            throw notFound('connector group', patch.groupId);
          await checkUnique(c, tenantId, id, patch.name, externalHost);
          const r = await one(
            c,
            `UPDATE apps SET ${sets.join(', ')} WHERE tenant_id = ${p(tenantId)} AND id = ${p(id)} RETURNING *`,
            values,
          );
          changed({ kind: 'app', tenantId, id, op: 'updated' });
          return r as Row;
        }),
      );
      return toApp(row);
    },
    async delete(tenantId, id) {
      await tx(ctx, async (c, changed) => {
        const { rowCount } = await c.query('DELETE FROM apps WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
        if (rowCount === 0) throw notFound('app', id);
        changed({ kind: 'app', tenantId, id, op: 'deleted' });
      });
    },
  };
}
