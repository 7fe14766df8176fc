/** Helpers every route file shares: resolve a tenant or group reference, append the audit event. */
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import type { ConnectorGroup, Store, Tenant } from '../../store/types.ts';
import { currentActor } from './authorization.ts';
import type { AdminDeps } from './types.ts';

export interface AdminContext {
  deps: AdminDeps;
  store: Store;
  /** `:tenantId` may be the id (tnt_…) or the name; unknown → DB-ADMIN-NOT-FOUND. */
  tenant(ref: string): Promise<Tenant>;
  /** A group id (grp_…) or name in the tenant, or null. */
  findGroup(tenantId: string, ref: string): Promise<ConnectorGroup | null>;
  /** A group named in a request body: unknown → DB-ADMIN-INVALID naming the field. */
  groupField(tenantId: string, ref: string, field?: string): Promise<ConnectorGroup>;
  /** Appends an audit event; the actor is the request's principal (authorization.ts). */
  audit(tenantId: string, action: string, target: string | null, detail?: Record<string, unknown>): Promise<void>;
  /** The request's actor text: "bootstrap" or "<administrator> (<token id>)". */
  actor(): string;
}

export function adminContext(deps: AdminDeps): AdminContext {
  const { store } = deps;
  const ctx: AdminContext = {
    deps,
    store,
    async tenant(ref) {
      const tenant = ref.startsWith('tnt_') ? await store.tenants.get(ref) : await store.tenants.getByName(ref);
      if (!tenant) throw new DrawbridgeError('DB-ADMIN-NOT-FOUND', `tenant ${ref} not found`);
      return tenant;
    },
    async findGroup(tenantId, ref) {
      if (ref.startsWith('grp_')) return store.groups.get(tenantId, ref);
      return (await store.groups.list(tenantId)).find((g) => g.name === ref) ?? null;
    },
    async groupField(tenantId, ref, field = 'groupId') {
      const group = await ctx.findGroup(tenantId, ref);
      if (!group) throw new DrawbridgeError('DB-ADMIN-INVALID', `${field}: no connector group ${ref} in this tenant`);
      return group;
    },
    async audit(tenantId, action, target, detail = {}) {
      await store.audit.append({ tenantId, actor: currentActor(), action, target, detail });
    },
    actor() {
      return currentActor();
    },
  };
  return ctx;
}
