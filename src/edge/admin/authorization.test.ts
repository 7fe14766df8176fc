import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ADMIN_ACTIONS,
  ADMIN_ROLES,
  BOOTSTRAP,
  ROLE_GRANTS,
  ROUTE_ACTIONS,
  actorOf,
  authorize,
  type AdminPrincipal,
  type AdminRole,
} from './authorization.ts';

const A = 'tnt_000000000000000a';
const B = 'tnt_000000000000000b';
const HR = 'app_0000000000000001';
const WIKI = 'app_0000000000000002';
const who = (role: AdminRole, tenantId: string | null = A, appIds: string[] = []): AdminPrincipal => ({
  kind: 'token',
  id: 'atk_0000000000000001',
  name: 'x',
  role,
  tenantId,
  appIds,
});

describe('authorize', () => {
  it('the tables name only known actions and roles', () => {
    for (const [route, rule] of Object.entries(ROUTE_ACTIONS))
      assert.ok((ADMIN_ACTIONS as readonly string[]).includes(rule.action), route);
    assert.deepEqual(Object.keys(ROLE_GRANTS).sort(), [...ADMIN_ROLES].sort());
    for (const grants of Object.values(ROLE_GRANTS))
      for (const action of Object.keys(grants))
        assert.ok((ADMIN_ACTIONS as readonly string[]).includes(action), action);
  });

  it('the bootstrap token is a global admin acting as "bootstrap"', () => {
    assert.equal(actorOf(BOOTSTRAP), 'bootstrap');
    assert.equal(actorOf(who('tenant-admin')), 'x (atk_0000000000000001)');
    for (const action of ADMIN_ACTIONS)
      assert.deepEqual(authorize(BOOTSTRAP, action, B), { allowed: true, appScope: null });
  });

  it('another tenant is not found, before the role is even looked at', () => {
    assert.deepEqual(authorize(who('tenant-admin'), 'apps.read', B), {
      allowed: false,
      code: 'DB-ADMIN-NOT-FOUND',
      detail: `tenant ${B} not found`,
    });
    assert.equal((authorize(who('security-reader'), 'apps.write', B) as { code: string }).code, 'DB-ADMIN-NOT-FOUND');
  });

  it('refuses what the role does not grant with DB-ADMIN-FORBIDDEN naming role and action', () => {
    assert.deepEqual(authorize(who('security-reader'), 'policies.write', A), {
      allowed: false,
      code: 'DB-ADMIN-FORBIDDEN',
      detail: 'role security-reader may not policies.write',
    });
    assert.equal(authorize(who('security-reader'), 'audit.read', A).allowed, true);
    assert.equal(authorize(who('connector-operator'), 'apps.read', A).allowed, false);
    assert.equal(authorize(who('connector-operator'), 'connectors.write', A).allowed, true);
    assert.equal(authorize(who('tenant-admin'), 'tenants.manage', null).allowed, false);
  });

  it('a principal scoped to one tenant takes no deployment-wide action but may read the tenant list (filtered)', () => {
    assert.equal(authorize(who('connector-operator'), 'edges.read', null).allowed, false);
    assert.equal(authorize(who('connector-operator', null), 'edges.read', null).allowed, true);
    assert.equal(authorize(who('security-reader'), 'tenants.read', null).allowed, true);
  });

  it('an app admin: its apps, others not found, no app named → allowed only with its apps as the scope', () => {
    const admin = who('app-admin', A, [HR]);
    assert.deepEqual(authorize(admin, 'apps.write', A, HR), { allowed: true, appScope: null });
    assert.equal((authorize(admin, 'apps.write', A, WIKI) as { code: string }).code, 'DB-ADMIN-NOT-FOUND');
    assert.deepEqual(authorize(admin, 'apps.read', A), { allowed: true, appScope: [HR] });
    assert.equal(authorize(admin, 'apps.publish', A).allowed, false);
    assert.equal(authorize(admin, 'directory.read', A).allowed, false);
  });
});
