import type { Connector, ConnectorPatch, Store } from '../types.ts';
import { requireName } from '../validate.ts';
import { checkConnectorId, CONNECTOR_PATCH_COLUMNS } from '../rules.ts';
import { type Ctx, type Row, emit, guard, notFound, now, tx, cells } from './db.ts';
import { connectorFromRow } from '../rows.ts';

const toConnector = (r: Row): Connector => connectorFromRow(r, cells);

export function connectorsRepo(ctx: Ctx): Store['connectors'] {
  const { db } = ctx;
  const groupExists = db.prepare('SELECT 1 FROM connector_groups WHERE tenant_id = ? AND id = ?');
  const insert = db.prepare(
    'INSERT INTO connectors (id, tenant_id, group_id, name, enabled, cert_serial, cert_not_after, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
  );
  const byId = db.prepare('SELECT * FROM connectors WHERE tenant_id = ? AND id = ?');
  const byIdEdgeWide = db.prepare('SELECT * FROM connectors WHERE id = ?');
  const all = db.prepare('SELECT * FROM connectors WHERE tenant_id = ? ORDER BY name, id');
  const inGroup = db.prepare('SELECT * FROM connectors WHERE tenant_id = ? AND group_id = ? ORDER BY name, id');
  const remove = db.prepare('DELETE FROM connectors WHERE tenant_id = ? AND id = ?');

  return {
    async create(input) {
      checkConnectorId(input.id);
      const name = requireName('name', input.name);
      const row = tx(db, () => {
        if (!groupExists.get(input.tenantId, input.groupId)) throw notFound('connector group', input.groupId);
        return guard(
          `connector ${input.id}`,
          () =>
            insert.get(
              input.id,
              input.tenantId,
              input.groupId,
              name,
              input.enabled === false ? 0 : 1,
              input.certSerial,
              input.certNotAfter,
              now(),
            ) as Row,
        );
      });
      const connector = toConnector(row);
      emit(ctx, { kind: 'connector', tenantId: connector.tenantId, id: connector.id, op: 'created' });
      return connector;
    },
    async get(tenantId, id) {
      const row = byId.get(tenantId, id) as Row | undefined;
      return row ? toConnector(row) : null;
    },
    async getById(id) {
      const row = byIdEdgeWide.get(id) as Row | undefined;
      return row ? toConnector(row) : null;
    },
    async list(tenantId, groupId) {
      const rows = (groupId === undefined ? all.all(tenantId) : inGroup.all(tenantId, groupId)) as Row[];
      return rows.map(toConnector);
    },
    async update(tenantId, id, patch) {
      if (patch.name !== undefined) requireName('name', patch.name);
      const sets: string[] = [];
      const values: (string | number | null)[] = [];
      for (const [key, column] of Object.entries(CONNECTOR_PATCH_COLUMNS) as [keyof ConnectorPatch, string][]) {
        const value = patch[key];
        if (value === undefined) continue;
        sets.push(`${column} = ?`);
        values.push(typeof value === 'boolean' ? (value ? 1 : 0) : value);
      }
      const row = tx(db, () => {
        if (!byId.get(tenantId, id)) throw notFound('connector', id);
        if (patch.groupId !== undefined && !groupExists.get(tenantId, patch.groupId))
          throw notFound('connector group', patch.groupId);
        if (sets.length === 0) return byId.get(tenantId, id) as Row;
        return db
          .prepare(`UPDATE connectors SET ${sets.join(', ')} WHERE tenant_id = ? AND id = ? RETURNING *`)
          .get(...values, tenantId, id) as Row;
      });
      emit(ctx, { kind: 'connector', tenantId, id, op: 'updated' });
      return toConnector(row);
    },
    async delete(tenantId, id) {
      const { changes } = remove.run(tenantId, id);
      if (changes === 0) throw notFound('connector', id);
      emit(ctx, { kind: 'connector', tenantId, id, op: 'deleted' });
    },
  };
}
