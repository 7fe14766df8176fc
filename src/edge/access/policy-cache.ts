/**
 * Each tenant's conditional access policies and named locations, compiled, in memory: read from the store on first
 * use and dropped when the store reports a change to a policy, a location or the tenant (on PostgreSQL the change
 * events reach every node), so the request path evaluates without a database query.
 */
import type { Store } from '../../store/types.ts';
import { compilePolicySet, type PolicySet } from './policies.ts';

export interface PolicyCache {
  /** The tenant's set, from memory when loaded (one store read after a change). */
  get(tenantId: string): Promise<PolicySet>;
  close(): void;
}

export function createPolicyCache(store: Pick<Store, 'policies' | 'locations' | 'onChange'>): PolicyCache {
  const sets = new Map<string, PolicySet>();
  const loading = new Map<string, Promise<PolicySet>>();
  /** Bumped per tenant on every change, so a load that raced a change is not kept. */
  const versions = new Map<string, number>();
  const off = store.onChange((e) => {
    if (e.kind !== 'policy' && e.kind !== 'location' && e.kind !== 'tenant') return;
    versions.set(e.tenantId, (versions.get(e.tenantId) ?? 0) + 1);
    sets.delete(e.tenantId);
    loading.delete(e.tenantId);
  });

  async function load(tenantId: string): Promise<PolicySet> {
    const version = versions.get(tenantId) ?? 0;
    const [policies, locations] = await Promise.all([store.policies.list(tenantId), store.locations.list(tenantId)]);
    const set = compilePolicySet(policies, locations);
    if ((versions.get(tenantId) ?? 0) === version) sets.set(tenantId, set);
    return set;
  }

  return {
    get(tenantId) {
      const cached = sets.get(tenantId);
      if (cached) return Promise.resolve(cached);
      let pending = loading.get(tenantId);
      if (!pending) {
        pending = load(tenantId).finally(() => loading.delete(tenantId));
        loading.set(tenantId, pending);
      }
      return pending;
    },
    close: off,
  };
}
