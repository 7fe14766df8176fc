import type { Connector, ConnectorPatch, Store } from '../types.ts';
import { requireName } from '../validate.ts';
import { type Ctx, type Row, all, guard, notFound, now, one, params, tx, cells } from './db.ts';
import { connectorFromRow } from '../rows.ts';
import { checkConnectorId, CONNECTOR_PATCH_COLUMNS } from '../rules.ts';

const toConnector = (r: Row): Connector => connectorFromRow(r, cells);

const GROUP_EXISTS = 'SELECT 1 FROM connector_groups WHERE tenant_id = $1 AND id = $2';

export function connectorsRepo(ctx: Ctx): Store['connectors'] {
  const { pool } = ctx;
  return {
    async create(input) {
      checkConnectorId(input.id);
      const name = requireName('name', input.name);
      const row = await guard(
        `connector ${input.id}`,
        tx(ctx, async (c, changed) => {
          if (!(await one(c, GROUP_EXISTS, [input.tenantId, input.groupId])))
            throw notFound('connector group', input.groupId);
          const r = await one(
            c,
            'INSERT INTO connectors (id, tenant_id, group_id, name, enabled, cert_serial, cert_not_after, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *',
            [
              input.id,
              input.tenantId,
              input.groupId,
              name,
              input.enabled !== false,
              input.certSerial,
              input.certNotAfter,
              now(),
            ],
          );
          changed({ kind: 'connector', tenantId: input.tenantId, id: input.id, op: 'created' });
          return r as Row;
        }),
      );
      return toConnector(row);
    },
    async get(tenantId, id) {
      const row = await one(pool, 'SELECT * FROM connectors WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
      return row ? toConnector(row) : null;
    },
    async getById(id) {
      const row = await one(pool, 'SELECT * FROM connectors WHERE id = $1', [id]);
      return row ? toConnector(row) : null;
    },
    async list(tenantId, groupId) {
      const rows =
        groupId === undefined
          ? await all(pool, 'SELECT * FROM connectors WHERE tenant_id = $1 ORDER BY name, id', [tenantId])
          : await all(pool, 'SELECT * FROM connectors WHERE tenant_id = $1 AND group_id = $2 ORDER BY name, id', [
              tenantId,
              groupId,
            ]);
      return rows.map(toConnector);
    },
    async update(tenantId, id, patch) {
      if (patch.name !== undefined) requireName('name', patch.name);
      const { values, p } = params();
      const sets: string[] = [];
      for (const [key, column] of Object.entries(CONNECTOR_PATCH_COLUMNS) as [keyof ConnectorPatch, string][]) {
        if (patch[key] !== undefined) sets.push(`${column} = ${p(patch[key])}`);
      }
      const row = await guard(
        `connector ${id}`,
        tx(ctx, async (c, changed) => {
          const current = await one(c, 'SELECT * FROM connectors WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [
            tenantId,
            id,
          ]);
          if (!current) throw notFound('connector', id);
          if (patch.groupId !== undefined && !(await one(c, GROUP_EXISTS, [tenantId, patch.groupId])))
            throw notFound('connector group', patch.groupId);
          const r =
            sets.length === 0
              ? current
              : await one(
                  c,
                  `UPDATE connectors SET ${sets.join(', ')} WHERE tenant_id = ${p(tenantId)} AND id = ${p(id)} RETURNING *`,
                  values,
                );
          changed({ kind: 'connector', tenantId, id, op: 'updated' });
          return r as Row;
        }),
      );
      return toConnector(row);
    },
    async delete(tenantId, id) {
      await tx(ctx, async (c, changed) => {
        const { rowCount } = await c.query('DELETE FROM connectors WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
        if (rowCount === 0) throw notFound('connector', id);
        changed({ kind: 'connector', tenantId, id, op: 'deleted' });
      });
    },
  };
}
