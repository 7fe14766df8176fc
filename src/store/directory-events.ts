/**
 * Change events for the directory, for continuous access evaluation: every mutation that may shrink someone's access
 * (disabled, deleted, password reset, a membership, licence or app assignment removed) is announced after it
 * succeeds, through the store's own change bus (`onChange`; on PostgreSQL, NOTIFY reaches every node). One wrapper
 * serves both stores, so neither implementation repeats the list. Grants are not announced: they never close a
 * connection, and a new sign-in sees them anyway.
 */
import type { DirectoryStore, Principal } from './directory-types.ts';
import type { ChangeEvent } from './types.ts';

export type Announce = (events: ChangeEvent[]) => void | Promise<void>;

const user = (tenantId: string, id: string, op: ChangeEvent['op'] = 'updated'): ChangeEvent => ({
  kind: 'user',
  tenantId,
  id,
  op,
});
const principal = (tenantId: string, p: Principal): ChangeEvent =>
  p.type === 'user' ? user(tenantId, p.id) : { kind: 'user-group', tenantId, id: p.id, op: 'updated' };

export function withAccessEvents(dir: DirectoryStore, announce: Announce): DirectoryStore {
  const after = async <T>(work: Promise<T>, events: ChangeEvent[]): Promise<T> => {
    const result = await work;
    await announce(events);
    return result;
  };
  return {
    ...dir,
    users: {
      ...dir.users,
      update: (t, id, patch) => after(dir.users.update(t, id, patch), [user(t, id)]),
      delete: (t, id) => after(dir.users.delete(t, id), [user(t, id, 'deleted')]),
      setPassword: (t, id, password) => after(dir.users.setPassword(t, id, password), [user(t, id)]),
    },
    groups: {
      ...dir.groups,
      delete: (t, id) => after(dir.groups.delete(t, id), [{ kind: 'user-group', tenantId: t, id, op: 'deleted' }]),
      removeMember: (t, g, u) => after(dir.groups.removeMember(t, g, u), [user(t, u)]),
      syncExternal: (t, u, groups) => after(dir.groups.syncExternal(t, u, groups), [user(t, u)]),
    },
    licences: {
      ...dir.licences,
      unassign: (t, sku, p) => after(dir.licences.unassign(t, sku, p), [principal(t, p)]),
    },
    assignments: {
      ...dir.assignments,
      unassign: (t, app, p) => after(dir.assignments.unassign(t, app, p), [principal(t, p)]),
    },
  };
}
