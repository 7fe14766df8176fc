/**
 * The access decision for a pre-authenticated app (step 4 of a request): pure, so every reason is unit-tested.
 * Order matters and is what the user is told: a disabled account first (nothing else will help), then assignment
 * (the app owner's call), then the licence (the tenant's purchase).
 */
import type { ErrorCode } from '../../errors/catalogue.ts';
import { PUBLISHING_SKUS, type AccessFacts } from '../../store/directory-types.ts';

export type AccessDecision =
  | { allow: true; reason: 'allowed'; sku: string }
  | {
      allow: false;
      code: ErrorCode;
      reason: 'account-disabled' | 'not-assigned' | 'no-licence' | 'user-unknown';
      detail: string;
    };

export function decideAccess(
  facts: AccessFacts | null,
  appId: string,
  assignedAppIds: readonly string[],
): AccessDecision {
  if (!facts)
    return { allow: false, code: 'DB-SESSION-EXPIRED', reason: 'user-unknown', detail: 'the user no longer exists' };
  if (!facts.user.enabled)
    return {
      allow: false,
      code: 'DB-ACCESS-ACCOUNT-DISABLED',
      reason: 'account-disabled',
      detail: `user ${facts.user.upn} is disabled`,
    };
  if (!assignedAppIds.includes(appId)) {
    const groups = facts.groups.map((g) => g.name).join(', ') || 'none';
    return {
      allow: false,
      code: 'DB-ACCESS-NOT-ASSIGNED',
      reason: 'not-assigned',
      detail: `neither ${facts.user.upn} nor their groups (${groups}) are assigned to the app`,
    };
  }
  const sku = PUBLISHING_SKUS.find((s) => facts.skus.includes(s));
  if (!sku) {
    const held = facts.skus.join(', ') || 'none';
    return {
      allow: false,
      code: 'DB-ACCESS-NO-LICENCE',
      reason: 'no-licence',
      detail: `${facts.user.upn} holds licences: ${held}; application publishing needs basic or premium`,
    };
  }
  return { allow: true, reason: 'allowed', sku };
}
