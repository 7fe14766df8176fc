/**
 * Checks and defaults for conditional access documents, applied by both stores before they write (so a stored
 * policy is always whole and valid), and a merge for partial updates.
 */
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { parseRange } from '../lib/address-ranges.ts';
import {
  CLIENT_TYPES,
  PLATFORMS,
  POLICY_STATES,
  RISK_LEVELS,
  type AccessPolicy,
  type LocationInput,
  type NamedLocation,
  type PolicyConditions,
  type PolicyGrant,
  type PolicyInput,
  type PolicyState,
  type PrincipalSet,
} from './policy-types.ts';
import { requireName } from './validate.ts';

const invalid = (message: string): DrawbridgeError => new DrawbridgeError('DB-ADMIN-INVALID', message);
const MAX_ITEMS = 1000;
const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

function strings(field: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v === '') || value.length > MAX_ITEMS) {
    throw invalid(`${field}: a list of up to ${MAX_ITEMS} non-empty strings`);
  }
  return [...new Set(value as string[])];
}

function oneOf<T extends string>(field: string, allowed: readonly T[], value: unknown): T {
  if (!allowed.includes(value as T)) throw invalid(`${field}: one of ${allowed.join(', ')}`);
  return value as T;
}

function listOf<T extends string>(field: string, allowed: readonly T[], value: unknown): T[] | null {
  if (value === null || value === undefined) return null;
  const list = strings(field, value).map((v) => oneOf(field, allowed, v));
  if (list.length === 0) throw invalid(`${field}: name at least one, or null for any`);
  return list;
}

function principals(field: string, value: unknown): PrincipalSet {
  const v = (value ?? {}) as Partial<PrincipalSet>;
  return { users: strings(`${field}.users`, v.users ?? []), groups: strings(`${field}.groups`, v.groups ?? []) };
}

export function checkPolicyState(value: unknown): PolicyState {
  return oneOf('state', POLICY_STATES, value);
}

export function checkConditions(input: PolicyInput['conditions'] = {}): PolicyConditions {
  const users = input.users ?? {};
  const include =
    users.include === undefined || users.include === 'all'
      ? 'all'
      : principals('conditions.users.include', users.include);
  const apps = input.apps === undefined || input.apps === 'all' ? 'all' : strings('conditions.apps', input.apps);
  const locations = input.locations ?? {};
  const locInclude =
    locations.include === undefined || locations.include === 'any'
      ? 'any'
      : strings('conditions.locations.include', locations.include);
  let time: PolicyConditions['time'] = null;
  if (input.time) {
    const t = input.time;
    if (!HHMM.test(t.from ?? '') || !HHMM.test(t.to ?? ''))
      throw invalid('conditions.time: from and to as HH:MM (24-hour)');
    const days = (t.days ?? []).map((d) => {
      if (!Number.isInteger(d) || d < 0 || d > 6) throw invalid('conditions.time.days: 0 (Sunday) to 6 (Saturday)');
      return d;
    });
    const timeZone = t.timeZone ?? 'UTC';
    try {
      new Intl.DateTimeFormat('en-GB', { timeZone });
    } catch {
      throw invalid(`conditions.time.timeZone: unknown time zone ${timeZone}`);
    }
    time = { days, from: t.from, to: t.to, timeZone, outside: t.outside === true };
  }
  return {
    users: { include, exclude: principals('conditions.users.exclude', users.exclude) },
    apps,
    locations: { include: locInclude, exclude: strings('conditions.locations.exclude', locations.exclude ?? []) },
    platforms: listOf('conditions.platforms', PLATFORMS, input.platforms),
    clientTypes: listOf('conditions.clientTypes', CLIENT_TYPES, input.clientTypes),
    signinRisk: listOf('conditions.signinRisk', RISK_LEVELS, input.signinRisk),
    time,
  };
}

export function checkGrant(input: Partial<PolicyGrant> = {}): PolicyGrant {
  const hours = input.signInFrequencyHours ?? null;
  if (hours !== null && (!Number.isInteger(hours) || hours < 1 || hours > 24 * 365))
    throw invalid('grant.signInFrequencyHours: whole hours, 1 to 8760');
  const persistent = input.persistentSession ?? null;
  if (persistent !== null && persistent !== 'always' && persistent !== 'never')
    throw invalid('grant.persistentSession: always, never or null');
  const grant: PolicyGrant = {
    block: input.block === true,
    requireMfa: input.requireMfa === true,
    requirePhishingResistantMfa: input.requirePhishingResistantMfa === true,
    signInFrequencyHours: hours,
    persistentSession: persistent,
  };
  if (
    !grant.block &&
    !grant.requireMfa &&
    !grant.requirePhishingResistantMfa &&
    hours === null &&
    persistent === null
  ) {
    throw invalid(
      'grant: a policy must block or require something (requireMfa, requirePhishingResistantMfa, signInFrequencyHours, persistentSession)',
    );
  }
  return grant;
}

/** A whole policy from a create request. */
export function checkPolicy(input: PolicyInput): Pick<AccessPolicy, 'name' | 'state' | 'conditions' | 'grant'> {
  return {
    name: requireName('name', input.name),
    state: checkPolicyState(input.state ?? 'on'),
    conditions: checkConditions(input.conditions),
    grant: checkGrant(input.grant),
  };
}

/** The stored policy with a patch applied: conditions and grant are merged field by field, then checked whole. */
export function mergePolicy(
  current: AccessPolicy,
  patch: Partial<PolicyInput>,
): Pick<AccessPolicy, 'name' | 'state' | 'conditions' | 'grant'> {
  const c = patch.conditions ?? {};
  return checkPolicy({
    name: patch.name ?? current.name,
    state: patch.state ?? current.state,
    conditions: {
      ...current.conditions,
      ...c,
      users: { ...current.conditions.users, ...(c.users ?? {}) },
      locations: { ...current.conditions.locations, ...(c.locations ?? {}) },
    } as PolicyInput['conditions'],
    grant: { ...current.grant, ...(patch.grant ?? {}) },
  });
}

/** Location ids a policy names (a location cannot be deleted while one does). */
export function locationsNamed(conditions: PolicyConditions): string[] {
  return [
    ...(conditions.locations.include === 'any' ? [] : conditions.locations.include),
    ...conditions.locations.exclude,
  ];
}

export function checkLocation(
  input: LocationInput,
  current?: NamedLocation,
): Pick<NamedLocation, 'name' | 'cidrs' | 'countries'> {
  const cidrs = strings('cidrs', input.cidrs ?? current?.cidrs ?? []);
  for (const c of cidrs)
    if (!parseRange(c)) throw invalid(`cidrs: ${JSON.stringify(c)} is not an address or CIDR range`);
  const countries = strings('countries', input.countries ?? current?.countries ?? []).map((c) => c.toUpperCase());
  for (const c of countries)
    if (!/^[A-Z]{2}$/.test(c)) throw invalid(`countries: ${JSON.stringify(c)} is not a two-letter ISO 3166 code`);
  if (cidrs.length === 0 && countries.length === 0) throw invalid('a named location needs cidrs or countries');
  return { name: requireName('name', input.name ?? current?.name ?? ''), cidrs, countries };
}
