import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessFacts, LicenceSku, User } from '../../store/directory-types.ts';
import { decideAccess } from './decide.ts';

const user = (over: Partial<User> = {}): User => ({
  id: 'usr_1',
  tenantId: 't',
  upn: 'alice@contoso.example',
  displayName: 'Alice',
  email: null,
  onPremName: null,
  enabled: true,
  source: 'local',
  hasPassword: true,
  failedCount: 0,
  lockedUntil: null,
  lastSignInAt: null,
  createdAt: '',
  updatedAt: '',
  ...over,
});
const facts = (over: Partial<User> = {}, skus: LicenceSku[] = ['basic']): AccessFacts => ({
  user: user(over),
  groups: [],
  skus,
});

describe('access decision', () => {
  it('allows an enabled, assigned user with a publishing licence', () => {
    assert.deepEqual(decideAccess(facts({}, ['basic']), 'app_1', ['app_1']), {
      allow: true,
      reason: 'allowed',
      sku: 'basic',
    });
    assert.equal(decideAccess(facts({}, ['free', 'premium']), 'app_1', ['app_1']).allow, true);
  });
  it('DB-ACCESS-ACCOUNT-DISABLED comes first', () => {
    const d = decideAccess(facts({ enabled: false }, []), 'app_1', []);
    assert.equal(d.allow, false);
    assert.equal(!d.allow && d.code, 'DB-ACCESS-ACCOUNT-DISABLED');
  });
  it('DB-ACCESS-NOT-ASSIGNED when neither the user nor a group is assigned', () => {
    const d = decideAccess(facts(), 'app_1', ['app_2']);
    assert.equal(!d.allow && d.code, 'DB-ACCESS-NOT-ASSIGNED');
  });
  it('DB-ACCESS-NO-LICENCE without basic or premium (free does not include publishing)', () => {
    assert.equal((decideAccess(facts({}, []), 'app_1', ['app_1']) as { code: string }).code, 'DB-ACCESS-NO-LICENCE');
    assert.equal(
      (decideAccess(facts({}, ['free']), 'app_1', ['app_1']) as { code: string }).code,
      'DB-ACCESS-NO-LICENCE',
    );
  });
  it('a user who no longer exists has to sign in again', () => {
    assert.equal((decideAccess(null, 'app_1', []) as { code: string }).code, 'DB-SESSION-EXPIRED');
  });
});
