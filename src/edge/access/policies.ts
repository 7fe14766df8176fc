/**
 * The conditional access decision: pure, from a tenant's compiled policies and what is known about one sign-in or
 * request. Every policy is evaluated and reported (for the sign-in log and what-if); only `on` policies decide,
 * `report-only` ones say what they would have done. The verdict names the first unmet requirement, most severe
 * first: block, then re-authentication (nothing else counts on a stale sign-in), a passkey, any second factor.
 */
import type { ErrorCode } from '../../errors/catalogue.ts';
import { AddressRanges } from '../../lib/address-ranges.ts';
import type {
  AccessPolicy,
  ClientType,
  NamedLocation,
  Platform,
  PolicyConditions,
  PolicyState,
  RiskLevel,
} from '../../store/policy-types.ts';

export interface CompiledLocation {
  id: string;
  name: string;
  ranges: AddressRanges;
  countries: ReadonlySet<string>;
}

/** One tenant's policies and locations, ready to evaluate (built once per change, not per request). */
export interface PolicySet {
  policies: readonly AccessPolicy[];
  locations: ReadonlyMap<string, CompiledLocation>;
  /** Some location names countries: the caller must look the client's country up. */
  needsCountry: boolean;
  /** Some policy that is not off has a condition on sign-in risk. */
  needsRisk: boolean;
}

export function compilePolicySet(policies: readonly AccessPolicy[], locations: readonly NamedLocation[]): PolicySet {
  const compiled = new Map<string, CompiledLocation>();
  for (const l of locations)
    compiled.set(l.id, { id: l.id, name: l.name, ranges: new AddressRanges(l.cidrs), countries: new Set(l.countries) });
  return {
    policies,
    locations: compiled,
    needsCountry: locations.some((l) => l.countries.length > 0),
    needsRisk: policies.some((p) => p.state !== 'off' && p.conditions.signinRisk !== null),
  };
}

export const EMPTY_POLICY_SET: PolicySet = compilePolicySet([], []);

/** What is known about the sign-in or request being decided. */
export interface AccessContext {
  userId: string;
  groupIds: readonly string[];
  /** Null: a sign-in to the portal, not to one app (only `all apps` policies apply). */
  appId: string | null;
  ip: string | null;
  /** ISO code of the client address, when the set needs it and the database knows it. */
  country: string | null;
  platform: Platform;
  clientType: ClientType;
  risk: RiskLevel;
  now: Date;
  /** What the session proved so far (`password`, `totp`, `webauthn` …). */
  authMethods: readonly string[];
  /** When the user last proved their first factor (ms), or null before any. */
  authenticatedAt: number | null;
}

export type PolicyOutcome =
  | 'not-applied'
  | 'block'
  | 'reauth-required'
  | 'phishing-resistant-required'
  | 'mfa-required'
  | 'satisfied';

export interface PolicyResult {
  policyId: string;
  name: string;
  state: PolicyState;
  /** Why the policy did not apply (the first condition that did not match), when it did not. */
  notApplied?: string;
  outcome: PolicyOutcome;
  /** Report-only policies: the outcome is what it would have done. */
  reportOnly: boolean;
}

export type Verdict =
  | { allow: true }
  | {
      allow: false;
      outcome: Exclude<PolicyOutcome, 'not-applied' | 'satisfied'>;
      code: ErrorCode;
      policyId: string;
      policyName: string;
    };

export interface Evaluation {
  verdict: Verdict;
  results: PolicyResult[];
  /** From the enforced policies that applied: `never` wins over `always`; null leaves the user's choice. */
  persistentSession: 'always' | 'never' | null;
}

const SEVERITY: Record<PolicyOutcome, number> = {
  block: 4,
  'reauth-required': 3,
  'phishing-resistant-required': 2,
  'mfa-required': 1,
  satisfied: 0,
  'not-applied': -1,
};
const CODES: Record<Exclude<PolicyOutcome, 'not-applied' | 'satisfied'>, ErrorCode> = {
  block: 'DB-CA-BLOCKED',
  'reauth-required': 'DB-CA-REAUTH-REQUIRED',
  'phishing-resistant-required': 'DB-CA-PHISHING-RESISTANT-REQUIRED',
  'mfa-required': 'DB-CA-MFA-REQUIRED',
};
const MFA = new Set(['totp', 'recovery', 'webauthn']);
const PHISHING_RESISTANT = new Set(['webauthn']);

export function evaluatePolicies(set: PolicySet, cx: AccessContext): Evaluation {
  const results: PolicyResult[] = [];
  let worst: { outcome: PolicyOutcome; policy: AccessPolicy } | null = null;
  let persistent: 'always' | 'never' | null = null;
  for (const policy of set.policies) {
    if (policy.state === 'off') {
      results.push({
        policyId: policy.id,
        name: policy.name,
        state: policy.state,
        notApplied: 'policy is off',
        outcome: 'not-applied',
        reportOnly: false,
      });
      continue;
    }
    const reportOnly = policy.state === 'report-only';
    const miss = firstMiss(set, policy.conditions, cx);
    const outcome: PolicyOutcome = miss ? 'not-applied' : grantOutcome(policy, cx);
    results.push({
      policyId: policy.id,
      name: policy.name,
      state: policy.state,
      ...(miss ? { notApplied: miss } : {}),
      outcome,
      reportOnly,
    });
    if (reportOnly || miss) continue;
    if (!worst || SEVERITY[outcome] > SEVERITY[worst.outcome]) worst = { outcome, policy };
    const p = policy.grant.persistentSession;
    if (p === 'never' || (p === 'always' && persistent === null)) persistent = p;
  }
  const verdict: Verdict =
    worst && worst.outcome !== 'satisfied' && worst.outcome !== 'not-applied'
      ? {
          allow: false,
          outcome: worst.outcome,
          code: CODES[worst.outcome],
          policyId: worst.policy.id,
          policyName: worst.policy.name,
        }
      : { allow: true };
  return { verdict, results, persistentSession: persistent };
}

function grantOutcome(policy: AccessPolicy, cx: AccessContext): PolicyOutcome {
  const g = policy.grant;
  if (g.block) return 'block';
  if (
    g.signInFrequencyHours !== null &&
    (cx.authenticatedAt === null || cx.now.getTime() - cx.authenticatedAt > g.signInFrequencyHours * 3_600_000)
  )
    return 'reauth-required';
  if (g.requirePhishingResistantMfa && !cx.authMethods.some((m) => PHISHING_RESISTANT.has(m)))
    return 'phishing-resistant-required';
  if (g.requireMfa && !cx.authMethods.some((m) => MFA.has(m))) return 'mfa-required';
  return 'satisfied';
}

/** The first condition of the policy the context does not meet, in words for the log; null when all match. */
function firstMiss(set: PolicySet, c: PolicyConditions, cx: AccessContext): string | null {
  const inSet = (s: { users: string[]; groups: string[] }) =>
    s.users.includes(cx.userId) || cx.groupIds.some((g) => s.groups.includes(g));
  if (inSet(c.users.exclude)) return 'user excluded';
  if (c.users.include !== 'all' && !inSet(c.users.include)) return 'user not included';
  if (c.apps !== 'all' && (cx.appId === null || !c.apps.includes(cx.appId))) return 'app not included';
  const at = (id: string) => {
    const l = set.locations.get(id);
    return (
      l !== undefined && (l.ranges.has(cx.ip ?? undefined) || (cx.country !== null && l.countries.has(cx.country)))
    );
  };
  if (c.locations.exclude.some(at)) return 'client in an excluded location';
  if (c.locations.include !== 'any' && !c.locations.include.some(at)) return 'client not in an included location';
  if (c.platforms && !c.platforms.includes(cx.platform)) return `platform ${cx.platform} not included`;
  if (c.clientTypes && !c.clientTypes.includes(cx.clientType)) return `client type ${cx.clientType} not included`;
  if (c.signinRisk && !c.signinRisk.includes(cx.risk)) return `sign-in risk ${cx.risk} not included`;
  if (c.time) {
    const inside = inWindow(c.time, cx.now);
    if (inside === c.time.outside) return c.time.outside ? 'inside the time window' : 'outside the time window';
  }
  return null;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Whether `now` read in the window's time zone falls on one of its days and between from and to. */
export function inWindow(w: { days: number[]; from: string; to: string; timeZone: string }, now: Date): boolean {
  let f = formatters.get(w.timeZone);
  if (!f)
    formatters.set(
      w.timeZone,
      (f = new Intl.DateTimeFormat('en-US', {
        timeZone: w.timeZone,
        weekday: 'short',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      })),
    );
  const parts = Object.fromEntries(f.formatToParts(now).map((p) => [p.type, p.value]));
  const hm = `${parts.hour}:${parts.minute}`;
  const day = WEEKDAYS.indexOf(parts.weekday);
  // A window spanning midnight belongs to the day it started on.
  const spans = w.to <= w.from;
  const inTime = spans ? hm >= w.from || hm < w.to : hm >= w.from && hm < w.to;
  const startDay = spans && hm < w.to ? (day + 6) % 7 : day;
  return inTime && (w.days.length === 0 || w.days.includes(startDay));
}
