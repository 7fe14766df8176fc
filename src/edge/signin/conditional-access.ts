/**
 * Conditional access in the sign-in flow: the facts of a sign-in or a request (client address and its country,
 * platform, client type, sign-in risk from the tenant's history) put to the evaluator (access/policies.ts) over the
 * tenant's cached policies, and the results in the shape the sign-in log keeps (report-only ones as "would have").
 * Risk needs the sign-in log, so it is computed at sign-in only and carried in the app session for requests.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { DirectoryStore } from '../../store/directory-types.ts';
import type { RiskLevel, RiskSignal } from '../../store/policy-types.ts';
import { clientTypeOf, platformOf } from '../access/client-facts.ts';
import { NO_COUNTRIES, openCountryLookup, type CountryLookup } from '../access/countries.ts';
import { evaluatePolicies, type Evaluation, type PolicySet } from '../access/policies.ts';
import type { PolicyCache } from '../access/policy-cache.ts';
import { assessRisk, BURST_MINUTES, HISTORY_DAYS, NO_RISK, type PastSignin, type Risk } from '../access/risk.ts';
import { clientIp } from './http.ts';

export interface ConditionalAccess {
  /** At sign-in (the hand-off to an app, or a portal sign-in): reads the history when a policy asks for risk. */
  atSignin(req: IncomingMessage, who: Who): Promise<SigninEvaluation>;
  /** On a request with an app session: from memory only. */
  onRequest(req: IncomingMessage, who: Who & { risk: RiskLevel }): Promise<Evaluation>;
  close(): void;
}

export interface Who {
  tenantId: string;
  userId: string;
  groupIds: readonly string[];
  appId: string | null;
  authMethods: readonly string[];
  authenticatedAt: number | null;
}

export interface SigninEvaluation {
  evaluation: Evaluation;
  risk: Risk;
  country: string | null;
}

/** What the sign-in log keeps of one evaluation. */
export function policyLog(
  e: Evaluation,
): { id: string; name: string; state: string; result: string; notApplied?: string }[] {
  return e.results.map((r) => ({
    id: r.policyId,
    name: r.name,
    state: r.state,
    result: r.reportOnly ? `would have: ${r.outcome}` : r.outcome,
    ...(r.notApplied ? { notApplied: r.notApplied } : {}),
  }));
}

export function createConditionalAccess(deps: {
  cache: PolicyCache;
  directory: DirectoryStore;
  logger: Logger;
  now: () => number;
  countries?: CountryLookup;
}): ConditionalAccess {
  let countries: Promise<CountryLookup> | null = deps.countries ? Promise.resolve(deps.countries) : null;
  /** The country database is opened the first time a tenant's locations name a country. */
  const lookup = (set: PolicySet, needed: boolean): Promise<CountryLookup> => {
    if (!set.needsCountry && !needed) return Promise.resolve(NO_COUNTRIES);
    countries ??= openCountryLookup().catch((err: Error) => {
      deps.logger.error({ err }, 'cannot open the country database: country conditions never match');
      return NO_COUNTRIES;
    });
    return countries;
  };

  async function risk(who: Who, ip: string | null, country: string | null, geo: CountryLookup): Promise<Risk> {
    const now = deps.now();
    const since = new Date(now - HISTORY_DAYS * 86_400_000).toISOString();
    const [mine, fromIp] = await Promise.all([
      deps.directory.signinLog.query(who.tenantId, { userId: who.userId, since, limit: 200 }),
      ip
        ? deps.directory.signinLog.query(who.tenantId, {
            clientIp: ip,
            result: 'failure',
            since: new Date(now - BURST_MINUTES * 60_000).toISOString(),
            limit: 200,
          })
        : { items: [] },
    ]);
    const past = (e: (typeof mine.items)[number]): PastSignin => ({
      time: e.time,
      userId: e.userId,
      username: e.username,
      clientIp: e.clientIp,
      country: geo.country(e.clientIp),
      result: e.result,
    });
    // Only first-factor outcomes say where the user signs in from; access rows repeat them.
    const signins = mine.items.filter((e) => e.event === 'signin');
    return assessRisk({
      userId: who.userId,
      ip,
      country,
      now: new Date(now),
      userHistory: signins.map(past),
      addressFailures: fromIp.items.map(past),
    });
  }

  return {
    async atSignin(req, who) {
      const set = await deps.cache.get(who.tenantId);
      const ip = clientIp(req);
      const geo = await lookup(set, set.needsRisk);
      const country = geo.country(ip);
      const r = set.needsRisk ? await risk(who, ip, country, geo) : NO_RISK;
      const evaluation = evaluatePolicies(set, {
        ...who,
        ip,
        country,
        platform: platformOf(req.headers),
        clientType: clientTypeOf(req.headers),
        risk: r.level,
        now: new Date(deps.now()),
      });
      return { evaluation, risk: r, country };
    },
    async onRequest(req, who) {
      const set = await deps.cache.get(who.tenantId);
      const ip = clientIp(req);
      const country = set.needsCountry ? (await lookup(set, false)).country(ip) : null;
      return evaluatePolicies(set, {
        ...who,
        ip,
        country,
        platform: platformOf(req.headers),
        clientType: clientTypeOf(req.headers),
        now: new Date(deps.now()),
      });
    },
    close() {
      deps.cache.close();
    },
  };
}

export type { RiskSignal };
