/** Conditional access policies and named locations in SQLite (store/policy-types.ts). */
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { newId } from '../ids.ts';
import { locationFromRow, policyFromRow } from '../policy-rows.ts';
import { checkLocation, checkPolicy, locationsNamed, mergePolicy } from '../policy-rules.ts';
import type { AccessPolicy, NamedLocation, PolicyStore } from '../policy-types.ts';
import { type Ctx, type Row, cells, emit, guard, notFound, now, tx } from './db.ts';

const toPolicy = (r: Row): AccessPolicy => policyFromRow(r, cells);
const toLocation = (r: Row): NamedLocation => locationFromRow(r, cells);

export function policyRepos(ctx: Ctx): PolicyStore {
  const { db } = ctx;
  const tenantExists = db.prepare('SELECT 1 FROM tenants WHERE tenant_id = ?');
  const policyById = db.prepare('SELECT * FROM access_policies WHERE tenant_id = ? AND id = ?');
  const policies = db.prepare('SELECT * FROM access_policies WHERE tenant_id = ? ORDER BY name');
  const locationById = db.prepare('SELECT * FROM named_locations WHERE tenant_id = ? AND id = ?');
  const locations = db.prepare('SELECT * FROM named_locations WHERE tenant_id = ? ORDER BY name');

  /** Every location a policy names must exist in the tenant (checked inside the write transaction). */
  const checkLocationsExist = (tenantId: string, ids: string[]) => {
    for (const id of ids)
      if (!locationById.get(tenantId, id))
        throw new DrawbridgeError('DB-ADMIN-INVALID', `conditions.locations: no named location ${id} in this tenant`);
  };

  return {
    policies: {
      async create(tenantId, input) {
        const p = checkPolicy(input);
        const stamp = now();
        const row = tx(db, () => {
          if (!tenantExists.get(tenantId)) throw notFound('tenant', tenantId);
          checkLocationsExist(tenantId, locationsNamed(p.conditions));
          return guard(
            `policy ${p.name}`,
            () =>
              db
                .prepare(
                  'INSERT INTO access_policies (id, tenant_id, name, state, conditions, grant_spec, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *',
                )
                .get(
                  newId('pol'),
                  tenantId,
                  p.name,
                  p.state,
                  JSON.stringify(p.conditions),
                  JSON.stringify(p.grant),
                  stamp,
                  stamp,
                ) as Row,
          );
        });
        const created = toPolicy(row);
        emit(ctx, { kind: 'policy', tenantId, id: created.id, op: 'created' });
        return created;
      },
      async get(tenantId, id) {
        const row = policyById.get(tenantId, id) as Row | undefined;
        return row ? toPolicy(row) : null;
      },
      async list(tenantId) {
        return (policies.all(tenantId) as Row[]).map(toPolicy);
      },
      async update(tenantId, id, patch) {
        const row = tx(db, () => {
          const current = policyById.get(tenantId, id) as Row | undefined;
          if (!current) throw notFound('policy', id);
          const p = mergePolicy(toPolicy(current), patch);
          checkLocationsExist(tenantId, locationsNamed(p.conditions));
          return guard(
            `policy ${p.name}`,
            () =>
              db
                .prepare(
                  'UPDATE access_policies SET name = ?, state = ?, conditions = ?, grant_spec = ?, updated_at = ? WHERE tenant_id = ? AND id = ? RETURNING *',
                )
                .get(
                  p.name,
                  p.state,
                  JSON.stringify(p.conditions),
                  JSON.stringify(p.grant),
                  now(),
                  tenantId,
                  id,
                ) as Row,
          );
        });
        emit(ctx, { kind: 'policy', tenantId, id, op: 'updated' });
        return toPolicy(row);
      },
      async delete(tenantId, id) {
        const { changes } = db.prepare('DELETE FROM access_policies WHERE tenant_id = ? AND id = ?').run(tenantId, id);
        if (changes === 0) throw notFound('policy', id);
        emit(ctx, { kind: 'policy', tenantId, id, op: 'deleted' });
      },
    },
    locations: {
      async create(tenantId, input) {
        const l = checkLocation(input);
        const stamp = now();
        const row = tx(db, () => {
          if (!tenantExists.get(tenantId)) throw notFound('tenant', tenantId);
          return guard(
            `named location ${l.name}`,
            () =>
              db
                .prepare(
                  'INSERT INTO named_locations (id, tenant_id, name, cidrs, countries, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING *',
                )
                .get(
                  newId('loc'),
                  tenantId,
                  l.name,
                  JSON.stringify(l.cidrs),
                  JSON.stringify(l.countries),
                  stamp,
                  stamp,
                ) as Row,
          );
        });
        const created = toLocation(row);
        emit(ctx, { kind: 'location', tenantId, id: created.id, op: 'created' });
        return created;
      },
      async get(tenantId, id) {
        const row = locationById.get(tenantId, id) as Row | undefined;
        return row ? toLocation(row) : null;
      },
      async list(tenantId) {
        return (locations.all(tenantId) as Row[]).map(toLocation);
      },
      async update(tenantId, id, patch) {
        const row = tx(db, () => {
          const current = locationById.get(tenantId, id) as Row | undefined;
          if (!current) throw notFound('named location', id);
          const l = checkLocation({ name: patch.name ?? (current.name as string), ...patch }, toLocation(current));
          return guard(
            `named location ${l.name}`,
            () =>
              db
                .prepare(
                  'UPDATE named_locations SET name = ?, cidrs = ?, countries = ?, updated_at = ? WHERE tenant_id = ? AND id = ? RETURNING *',
                )
                .get(l.name, JSON.stringify(l.cidrs), JSON.stringify(l.countries), now(), tenantId, id) as Row,
          );
        });
        emit(ctx, { kind: 'location', tenantId, id, op: 'updated' });
        return toLocation(row);
      },
      async delete(tenantId, id) {
        tx(db, () => {
          if (!locationById.get(tenantId, id)) throw notFound('named location', id);
          const users = (policies.all(tenantId) as Row[])
            .map(toPolicy)
            .filter((p) => locationsNamed(p.conditions).includes(id));
          if (users.length > 0)
            throw new DrawbridgeError(
              'DB-ADMIN-CONFLICT',
              `named location is used by policy ${users.map((p) => p.name).join(', ')}`,
            );
          db.prepare('DELETE FROM named_locations WHERE tenant_id = ? AND id = ?').run(tenantId, id);
        });
        emit(ctx, { kind: 'location', tenantId, id, op: 'deleted' });
      },
    },
  };
}
