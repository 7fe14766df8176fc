import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { Store, Tenant } from '../types.ts';
import { requireName, requireSlug } from '../validate.ts';
import { type Ctx, type Row, emit, guard, notFound, now, tx, cells } from './db.ts';
import { tenantFromRow } from '../rows.ts';

const toTenant = (r: Row): Tenant => tenantFromRow(r, cells);

export function tenantsRepo(ctx: Ctx): Store['tenants'] {
  const { db } = ctx;
  const insert = db.prepare(
    'INSERT INTO tenants (tenant_id, name, display_name, created_at) VALUES (?, ?, ?, ?) RETURNING *',
  );
  const byId = db.prepare('SELECT * FROM tenants WHERE tenant_id = ?');
  const byName = db.prepare('SELECT * FROM tenants WHERE name = ?');
  const all = db.prepare('SELECT * FROM tenants ORDER BY name');
  const inUse = db.prepare(
    'SELECT (SELECT count(*) FROM apps WHERE tenant_id = ?1) AS apps, (SELECT count(*) FROM connectors WHERE tenant_id = ?1) AS connectors',
  );
  const remove = db.prepare('DELETE FROM tenants WHERE tenant_id = ?');

  return {
    async create(input) {
      const name = requireSlug('name', input.name);
      const displayName = requireName('displayName', input.displayName ?? input.name);
      const row = guard(`tenant ${name}`, () => insert.get(newId('tnt'), name, displayName, now()) as Row);
      const tenant = toTenant(row);
      emit(ctx, { kind: 'tenant', tenantId: tenant.id, id: tenant.id, op: 'created' });
      return tenant;
    },
    async get(id) {
      const row = byId.get(id) as Row | undefined;
      return row ? toTenant(row) : null;
    },
    async getByName(name) {
      const row = byName.get(name) as Row | undefined;
      return row ? toTenant(row) : null;
    },
    async list() {
      return (all.all() as Row[]).map(toTenant);
    },
    async delete(id) {
      tx(db, () => {
        if (!byId.get(id)) throw notFound('tenant', id);
        const use = inUse.get(id) as { apps: number; connectors: number };
        if (use.apps > 0 || use.connectors > 0) {
          throw new DrawbridgeError(
            'DB-ADMIN-CONFLICT',
            `tenant still has ${use.apps} app(s) and ${use.connectors} connector(s); delete them first`,
          );
        }
        remove.run(id);
      });
      emit(ctx, { kind: 'tenant', tenantId: id, id, op: 'deleted' });
    },
  };
}
