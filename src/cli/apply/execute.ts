/**
 * Carries out a plan through the admin API, change by change in the plan's (dependency) order, each call audited
 * by the edge. A user created here gets a generated password, returned once to be handed over (the file never
 * holds one). Stops at the first refusal: what was done stays done, and applying again finishes the rest.
 */
import { seg, type AdminClient } from '../admin-client.ts';
import type { AppSpec, GroupSpec, LicenceSpec, LocationSpec, PolicySpec, Principals, UserSpec } from './model.ts';
import type { Change, Plan } from './plan.ts';
import type { Ids } from './state.ts';

export interface NewPassword {
  upn: string;
  password: string;
}

type Principal = { type: 'user' | 'group'; id: string };

/** Top-level fields an update touches (`grant.block` → `grant`). */
const touched = (c: Change): Set<string> => new Set(c.fields.map((f) => f.field.split('.')[0]));

function pick(obj: Record<string, unknown>, keys: Iterable<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

/** Principal lists before and after, from an update's field changes (`assignments.users`, …). */
function setChange(c: Change, field: string): { add: string[]; remove: string[] } {
  const f = c.fields.find((x) => x.field === field);
  if (!f) return { add: [], remove: [] };
  const from = (f.from ?? []) as string[];
  const to = (f.to ?? []) as string[];
  return { add: to.filter((v) => !from.includes(v)), remove: from.filter((v) => !to.includes(v)) };
}

export async function executePlan(
  api: AdminClient,
  p: Plan,
  ids: Ids,
  onApplied: (c: Change) => void,
): Promise<NewPassword[]> {
  const t = `/tenants/${seg(ids.tenantId)}`;
  const passwords: NewPassword[] = [];
  const principal = (type: 'user' | 'group', name: string): Principal => {
    const id = type === 'user' ? ids.users.get(name.toLowerCase()) : ids.groups.get(name);
    if (!id) throw new Error(`no ${type} ${name} in the tenant`);
    return { type, id };
  };
  /** Adds and removes assignments; `path` is the assignments collection, `field` the change's prefix. */
  async function assignments(c: Change, path: string, field: string, all: Principals | undefined): Promise<void> {
    for (const type of ['user', 'group'] as const) {
      const key = type === 'user' ? 'users' : 'groups';
      const { add, remove } =
        c.action === 'create' ? { add: all?.[key] ?? [], remove: [] } : setChange(c, `${field}.${key}`);
      for (const name of add) await api.request('POST', path, principal(type, name));
      for (const name of remove) {
        const p = principal(type, name);
        await api.request('DELETE', `${path}/${p.type}/${seg(p.id)}`);
      }
    }
  }

  for (const c of p.changes) {
    const d = (c.desired ?? {}) as Record<string, unknown>;
    const name = seg(c.name);
    switch (c.section) {
      case 'connectorGroups':
        if (c.action === 'create') await api.request('POST', `${t}/connector-groups`, { name: c.name });
        else if (c.action === 'delete') await api.request('DELETE', `${t}/connector-groups/${name}`);
        break;
      case 'locations': {
        const l = d as unknown as LocationSpec;
        if (c.action === 'create')
          await api.request('POST', `${t}/locations`, {
            name: l.name,
            cidrs: l.cidrs ?? [],
            countries: l.countries ?? [],
          });
        else if (c.action === 'update') await api.request('PATCH', `${t}/locations/${name}`, pick(d, touched(c)));
        else await api.request('DELETE', `${t}/locations/${name}`);
        break;
      }
      case 'users': {
        const u = d as unknown as UserSpec;
        if (c.action === 'create') {
          const created = await api.request<{ id: string; upn: string }>(
            'POST',
            `${t}/users`,
            pick(d, ['upn', 'displayName', 'email', 'onPremName', 'enabled']),
          );
          ids.users.set(u.upn.toLowerCase(), created.id);
          const reset = await api.request<{ password?: string }>('POST', `${t}/users/${seg(created.id)}/password`);
          if (reset.password) passwords.push({ upn: created.upn, password: reset.password });
        } else if (c.action === 'update') await api.request('PATCH', `${t}/users/${name}`, pick(d, touched(c)));
        else await api.request('DELETE', `${t}/users/${name}`);
        break;
      }
      case 'groups': {
        const g = d as unknown as GroupSpec;
        if (c.action === 'create') {
          const created = await api.request<{ id: string }>(
            'POST',
            `${t}/user-groups`,
            pick(d, ['name', 'description']),
          );
          ids.groups.set(g.name, created.id);
        }
        if (c.action === 'delete') {
          await api.request('DELETE', `${t}/user-groups/${name}`);
          break;
        }
        const { add, remove } = c.action === 'create' ? { add: g.members ?? [], remove: [] } : setChange(c, 'members');
        for (const upn of add) await api.request('PUT', `${t}/user-groups/${name}/members/${seg(upn)}`);
        for (const upn of remove) await api.request('DELETE', `${t}/user-groups/${name}/members/${seg(upn)}`);
        break;
      }
      case 'licences': {
        const l = d as unknown as LicenceSpec;
        if (c.action === 'delete') break; // never planned: SKUs are fixed
        if (l.seats !== undefined && (c.action === 'create' || touched(c).has('seats')))
          await api.request('PUT', `${t}/licences/${name}`, { seats: l.seats });
        await assignments(c, `${t}/licences/${name}/assignments`, 'assignments', l.assignments);
        break;
      }
      case 'apps': {
        const a = d as unknown as AppSpec;
        const { assignments: all, connectorGroup, ...fields } = a;
        if (c.action === 'create') await api.request('POST', `${t}/apps`, { ...fields, groupId: connectorGroup });
        else if (c.action === 'update') {
          const keys = [...touched(c)].filter((k) => k !== 'assignments');
          const body = pick(
            fields,
            keys.filter((k) => k !== 'connectorGroup'),
          );
          if (keys.includes('connectorGroup')) body.groupId = connectorGroup;
          if (Object.keys(body).length > 0) await api.request('PATCH', `${t}/apps/${name}`, body);
        } else {
          await api.request('DELETE', `${t}/apps/${name}`);
          break;
        }
        await assignments(c, `${t}/apps/${seg(a.name)}/assignments`, 'assignments', all);
        break;
      }
      case 'policies': {
        const pol = d as unknown as PolicySpec;
        if (c.action === 'create') await api.request('POST', `${t}/policies`, pol);
        else if (c.action === 'update') await api.request('PATCH', `${t}/policies/${name}`, pick(d, touched(c)));
        else await api.request('DELETE', `${t}/policies/${name}`);
        break;
      }
    }
    onApplied(c);
  }
  return passwords;
}
