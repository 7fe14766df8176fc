import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { Store, Tenant } from '../types.ts';
import { requireName, requireSlug } from '../validate.ts';
import { type Ctx, type Row, all, guard, notFound, now, one, tx, cells } from './db.ts';
import { tenantFromRow } from '../rows.ts';

const toTenant = (r: Row): Tenant => tenantFromRow(r, cells);

export function tenantsRepo(ctx: Ctx): Store['tenants'] {
  const { pool } = ctx;
  return {
    async create(input) {
      const name = requireSlug('name', input.name);
      const displayName = requireName('displayName', input.displayName ?? input.name);
      const id = newId('tnt');
      const row = await guard(
        `tenant ${name}`,
        tx(ctx, async (c, changed) => {
          const r = await one(
            c,
            'INSERT INTO tenants (tenant_id, name, display_name, created_at) VALUES ($1, $2, $3, $4) RETURNING *',
            [id, name, displayName, now()],
          );
          changed({ kind: 'tenant', tenantId: id, id, op: 'created' });
          return r as Row;
        }),
      );
      return toTenant(row);
    },
    async get(id) {
      const row = await one(pool, 'SELECT * FROM tenants WHERE tenant_id = $1', [id]);
      return row ? toTenant(row) : null;
    },
    async getByName(name) {
      const row = await one(pool, 'SELECT * FROM tenants WHERE name = $1', [name]);
      return row ? toTenant(row) : null;
    },
    async list() {
      return (await all(pool, 'SELECT * FROM tenants ORDER BY name')).map(toTenant);
    },
    async delete(id) {
      // Apps and connectors reference the tenant without cascade: one added concurrently makes the DELETE fail (conflict).
      await guard(
        `tenant ${id}`,
        tx(ctx, async (c, changed) => {
          if (!(await one(c, 'SELECT 1 FROM tenants WHERE tenant_id = $1 FOR UPDATE', [id])))
            throw notFound('tenant', id);
          const use = (await one(
            c,
            'SELECT (SELECT count(*) FROM apps WHERE tenant_id = $1)::int AS apps, (SELECT count(*) FROM connectors WHERE tenant_id = $1)::int AS connectors',
            [id],
          )) as { apps: number; connectors: number };
          if (use.apps > 0 || use.connectors > 0) {
            throw new DrawbridgeError(
              'DB-ADMIN-CONFLICT',
              `tenant still has ${use.apps} app(s) and ${use.connectors} connector(s); delete them first`,
            );
          }
          await c.query('DELETE FROM tenants WHERE tenant_id = $1', [id]);
          changed({ kind: 'tenant', tenantId: id, id, op: 'deleted' });
        }),
      );
    },
  };
}
