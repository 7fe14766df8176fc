/** Conditional access policies and named locations in PostgreSQL (store/policy-types.ts); same rules as SQLite's. */
import type { PoolClient } from 'pg';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import { locationFromRow, policyFromRow } from '../policy-rows.ts';
import { checkLocation, checkPolicy, locationsNamed, mergePolicy } from '../policy-rules.ts';
import type { AccessPolicy, NamedLocation, PolicyStore } from '../policy-types.ts';
import { type Ctx, type Row, all, cells, guard, notFound, now, one, tx } from './db.ts';

const toPolicy = (r: Row): AccessPolicy => policyFromRow(r, cells);
const toLocation = (r: Row): NamedLocation => locationFromRow(r, cells);

async function checkLocationsExist(c: PoolClient, tenantId: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    if (!(await one(c, 'SELECT 1 FROM named_locations WHERE tenant_id = $1 AND id = $2', [tenantId, id]))) {
      throw new DrawbridgeError('DB-ADMIN-INVALID', `conditions.locations: no named location ${id} in this tenant`);
    }
  }
}

export function policyRepos(ctx: Ctx): PolicyStore {
  const { pool } = ctx;
  return {
    policies: {
      async create(tenantId, input) {
        const p = checkPolicy(input);
        const id = newId('pol');
        const row = await guard(
          `policy ${p.name}`,
          tx(ctx, async (c, changed) => {
            if (!(await one(c, 'SELECT 1 FROM tenants WHERE tenant_id = $1', [tenantId])))
              throw notFound('tenant', tenantId);
            // Serialise with location deletes, which check the policies that name them.
            await c.query('SELECT 1 FROM named_locations WHERE tenant_id = $1 FOR SHARE', [tenantId]);
            await checkLocationsExist(c, tenantId, locationsNamed(p.conditions));
            const r = await one(
              c,
              'INSERT INTO access_policies (id, tenant_id, name, state, conditions, grant_spec, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING *',
              [id, tenantId, p.name, p.state, JSON.stringify(p.conditions), JSON.stringify(p.grant), now()],
            );
            changed({ kind: 'policy', tenantId, id, op: 'created' });
            return r as Row;
          }),
        );
        return toPolicy(row);
      },
      async get(tenantId, id) {
        const row = await one(pool, 'SELECT * FROM access_policies WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
        return row ? toPolicy(row) : null;
      },
      async list(tenantId) {
        return (await all(pool, 'SELECT * FROM access_policies WHERE tenant_id = $1 ORDER BY name', [tenantId])).map(
          toPolicy,
        );
      },
      async update(tenantId, id, patch) {
        const row = await guard(
          `policy ${id}`,
          tx(ctx, async (c, changed) => {
            const current = await one(c, 'SELECT * FROM access_policies WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [
              tenantId,
              id,
            ]);
            if (!current) throw notFound('policy', id);
            const p = mergePolicy(toPolicy(current), patch);
            await c.query('SELECT 1 FROM named_locations WHERE tenant_id = $1 FOR SHARE', [tenantId]);
            await checkLocationsExist(c, tenantId, locationsNamed(p.conditions));
            const r = await one(
              c,
              'UPDATE access_policies SET name = $1, state = $2, conditions = $3, grant_spec = $4, updated_at = $5 WHERE tenant_id = $6 AND id = $7 RETURNING *',
              [p.name, p.state, JSON.stringify(p.conditions), JSON.stringify(p.grant), now(), tenantId, id],
            );
            changed({ kind: 'policy', tenantId, id, op: 'updated' });
            return r as Row;
          }),
        );
        return toPolicy(row);
      },
      async delete(tenantId, id) {
        await tx(ctx, async (c, changed) => {
          const { rowCount } = await c.query('DELETE FROM access_policies WHERE tenant_id = $1 AND id = $2', [
            tenantId,
            id,
          ]);
          if (rowCount === 0) throw notFound('policy', id);
          changed({ kind: 'policy', tenantId, id, op: 'deleted' });
        });
      },
    },
    locations: {
      async create(tenantId, input) {
        const l = checkLocation(input);
        const id = newId('loc');
        const row = await guard(
          `named location ${l.name}`,
          tx(ctx, async (c, changed) => {
            if (!(await one(c, 'SELECT 1 FROM tenants WHERE tenant_id = $1', [tenantId])))
              throw notFound('tenant', tenantId);
            const r = await one(
              c,
              'INSERT INTO named_locations (id, tenant_id, name, cidrs, countries, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING *',
              [id, tenantId, l.name, JSON.stringify(l.cidrs), JSON.stringify(l.countries), now()],
            );
            changed({ kind: 'location', tenantId, id, op: 'created' });
            return r as Row;
          }),
        );
        return toLocation(row);
      },
      async get(tenantId, id) {
        const row = await one(pool, 'SELECT * FROM named_locations WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
        return row ? toLocation(row) : null;
      },
      async list(tenantId) {
        return (await all(pool, 'SELECT * FROM named_locations WHERE tenant_id = $1 ORDER BY name', [tenantId])).map(
          toLocation,
        );
      },
      async update(tenantId, id, patch) {
        const row = await guard(
          `named location ${id}`,
          tx(ctx, async (c, changed) => {
            const current = await one(c, 'SELECT * FROM named_locations WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [
              tenantId,
              id,
            ]);
            if (!current) throw notFound('named location', id);
            const l = checkLocation({ name: patch.name ?? (current.name as string), ...patch }, toLocation(current));
            const r = await one(
              c,
              'UPDATE named_locations SET name = $1, cidrs = $2, countries = $3, updated_at = $4 WHERE tenant_id = $5 AND id = $6 RETURNING *',
              [l.name, JSON.stringify(l.cidrs), JSON.stringify(l.countries), now(), tenantId, id],
            );
            changed({ kind: 'location', tenantId, id, op: 'updated' });
            return r as Row;
          }),
        );
        return toLocation(row);
      },
      async delete(tenantId, id) {
        await tx(ctx, async (c, changed) => {
          if (
            !(await one(c, 'SELECT 1 FROM named_locations WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id]))
          )
            throw notFound('named location', id);
          const users = (await all(c, 'SELECT * FROM access_policies WHERE tenant_id = $1', [tenantId]))
            .map(toPolicy)
            .filter((p) => locationsNamed(p.conditions).includes(id));
          if (users.length > 0)
            throw new DrawbridgeError(
              'DB-ADMIN-CONFLICT',
              `named location is used by policy ${users.map((p) => p.name).join(', ')}`,
            );
          await c.query('DELETE FROM named_locations WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
          changed({ kind: 'location', tenantId, id, op: 'deleted' });
        });
      },
    },
  };
}
