/** Rows of the conditional access tables → objects, for both stores (store/rows.ts's cell readers). */
import type { CellReaders } from './rows.ts';
import type { AccessPolicy, NamedLocation, PolicyConditions, PolicyGrant } from './policy-types.ts';

type Row = Record<string, unknown>;

/** A JSON cell: text in SQLite, already parsed jsonb in PostgreSQL. */
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T;

export function policyFromRow(r: Row, read: CellReaders): AccessPolicy {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    name: r.name as string,
    state: r.state as AccessPolicy['state'],
    conditions: json<PolicyConditions>(r.conditions),
    grant: json<PolicyGrant>(r.grant_spec),
    createdAt: read.time(r.created_at),
    updatedAt: read.time(r.updated_at),
  };
}

export function locationFromRow(r: Row, read: CellReaders): NamedLocation {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    name: r.name as string,
    cidrs: json<string[]>(r.cidrs),
    countries: json<string[]>(r.countries),
    createdAt: read.time(r.created_at),
    updatedAt: read.time(r.updated_at),
  };
}
