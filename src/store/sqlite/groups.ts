import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import type { ConnectorGroup, Store } from '../types.ts';
import { requireName } from '../validate.ts';
import { type Ctx, type Row, emit, guard, notFound, now, tx, cells } from './db.ts';
import { groupFromRow } from '../rows.ts';

const toGroup = (r: Row): ConnectorGroup => groupFromRow(r, cells);

export function groupsRepo(ctx: Ctx): Store['groups'] {
  const { db } = ctx;
  const tenantExists = db.prepare('SELECT 1 FROM tenants WHERE tenant_id = ?');
  const insert = db.prepare(
    'INSERT INTO connector_groups (id, tenant_id, name, created_at) VALUES (?, ?, ?, ?) RETURNING *',
  );
  const byId = db.prepare('SELECT * FROM connector_groups WHERE tenant_id = ? AND id = ?');
  const all = db.prepare('SELECT * FROM connector_groups WHERE tenant_id = ? ORDER BY name');
  const inUse = db.prepare(
    'SELECT (SELECT count(*) FROM apps WHERE tenant_id = ?1 AND group_id = ?2) AS apps, ' +
      '(SELECT count(*) FROM connectors WHERE tenant_id = ?1 AND group_id = ?2) AS connectors',
  );
  const remove = db.prepare('DELETE FROM connector_groups WHERE tenant_id = ? AND id = ?');

  return {
    async create(tenantId, input) {
      const name = requireName('name', input.name);
      const row = tx(db, () => {
        if (!tenantExists.get(tenantId)) throw notFound('tenant', tenantId);
        return guard(`connector group ${name}`, () => insert.get(newId('grp'), tenantId, name, now()) as Row);
      });
      const group = toGroup(row);
      emit(ctx, { kind: 'group', tenantId, id: group.id, op: 'created' });
      return group;
    },
    async get(tenantId, id) {
      const row = byId.get(tenantId, id) as Row | undefined;
      return row ? toGroup(row) : null;
    },
    async list(tenantId) {
      return (all.all(tenantId) as Row[]).map(toGroup);
    },
    async delete(tenantId, id) {
      tx(db, () => {
        if (!byId.get(tenantId, id)) throw notFound('connector group', id);
        const use = inUse.get(tenantId, id) as { apps: number; connectors: number };
        if (use.apps > 0 || use.connectors > 0) {
          throw new DrawbridgeError(
            'DB-ADMIN-CONFLICT',
            `connector group is used by ${use.apps} app(s) and ${use.connectors} connector(s)`,
          );
        }
        remove.run(tenantId, id); // its enrollment tokens go with it (ON DELETE CASCADE)
      });
      emit(ctx, { kind: 'group', tenantId, id, op: 'deleted' });
    },
  };
}
