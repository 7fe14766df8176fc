import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { ConnectorGroup, Store } from '../types.ts';
import { requireName } from '../validate.ts';
import { type Ctx, type Row, all, guard, notFound, now, one, tx, cells } from './db.ts';
import { groupFromRow } from '../rows.ts';

const toGroup = (r: Row): ConnectorGroup => groupFromRow(r, cells);

export function groupsRepo(ctx: Ctx): Store['groups'] {
  const { pool } = ctx;
  return {
    async create(tenantId, input) {
      const name = requireName('name', input.name);
      const id = newId('grp');
      const row = await guard(
        `connector group ${name}`,
        tx(ctx, async (c, changed) => {
          if (!(await one(c, 'SELECT 1 FROM tenants WHERE tenant_id = $1', [tenantId])))
            throw notFound('tenant', tenantId);
          const r = await one(
            c,
            'INSERT INTO connector_groups (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4) RETURNING *',
            [id, tenantId, name, now()],
          );
          changed({ kind: 'group', tenantId, id, op: 'created' });
          return r as Row;
        }),
      );
      return toGroup(row);
    },
    async get(tenantId, id) {
      const row = await one(pool, 'SELECT * FROM connector_groups WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return row ? toGroup(row) : null;
    },
    async list(tenantId) {
      return (await all(pool, 'SELECT * FROM connector_groups WHERE tenant_id = $1 ORDER BY name', [tenantId])).map(
        toGroup,
      );
    },
    async delete(tenantId, id) {
      await guard(
        `connector group ${id}`,
        tx(ctx, async (c, changed) => {
          if (
            !(await one(c, 'SELECT 1 FROM connector_groups WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [
              tenantId,
              id,
            ]))
          ) {
            throw notFound('connector group', id);
          }
          const use = (await one(
            c,
            'SELECT (SELECT count(*) FROM apps WHERE tenant_id = $1 AND group_id = $2)::int AS apps, ' +
              '(SELECT count(*) FROM connectors WHERE tenant_id = $1 AND group_id = $2)::int AS connectors',
            [tenantId, id],
          )) as { apps: number; connectors: number };
          if (use.apps > 0 || use.connectors > 0) {
            throw new DrawbridgeError(
              'DB-ADMIN-CONFLICT',
              `connector group is used by ${use.apps} app(s) and ${use.connectors} connector(s)`,
            );
          }
          await c.query('DELETE FROM connector_groups WHERE tenant_id = $1 AND id = $2', [tenantId, id]); // its enrollment tokens go with it (ON DELETE CASCADE)
          changed({ kind: 'group', tenantId, id, op: 'deleted' });
        }),
      );
    },
  };
}
