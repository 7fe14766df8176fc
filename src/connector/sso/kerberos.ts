/**
 * `sso: kerberos` — Kerberos constrained delegation (KCD) to IWA backends:
 *   1. the app's login identity for the user (UPN, on-premises name, user part of the UPN, or email)
 *   2. a service ticket for that user to the app's SPN: TGT (keytab) → S4U2Self → S4U2Proxy, cached per user and SPN
 *   3. `Authorization: Negotiate <SPNEGO AP-REQ>` on the backend request (mutual authentication required)
 *   4. on the response head: verify the backend's AP-REP when it sends one; a 401 means the ticket was refused →
 *      refresh it and retry once (bodiless requests); a 401 offering only NTLM → DB-KCD-BACKEND-NTLM.
 * Every Kerberos failure is explained as a catalogue code (explainKerberosFailure), shared with `diagnose kcd`.
 */
import type { ErrorCode } from '../../errors/catalogue.ts';
import type { Logger } from '../../lib/log.ts';
import type { ConnectorAppConfig, Identity, SsoLoginIdentity } from '../../tunnel/protocol.ts';
import {
  CredentialCache,
  KerberosClient,
  classifyWwwAuthenticate,
  isForwardable,
  isKerberosError,
  isNtlmToken,
  krbErrorName,
  negotiateToken,
  type Credential,
  type NegotiateResult,
} from '../../kerberos/index.ts';
import type { SsoResult, SsoVerdict } from '../forward/forwarder.ts';
import { SsoError } from './sso-error.ts';

export type KerberosAppSso = { mode: 'kerberos'; spn: string; loginIdentity: SsoLoginIdentity };

/** The steps of constrained delegation, named as `diagnose kcd` prints them. */
export type KcdStep = 'keytab' | 'tgt' | 's4u2self' | 's4u2proxy' | 'backend';

export const NTLM_FIX =
  'The backend offers only NTLM, which cannot be delegated. Enable Kerberos on the app (IIS: Windows Authentication with the Negotiate provider first; ' +
  'the app pool identity owning the SPN) and register its SPN (setspn -S HTTP/<host> <account the app runs as>).';

/** The Kerberos name the app delegates as, from the signed-in identity; null when the identity lacks it. */
export function loginName(identity: Identity, loginIdentity: SsoLoginIdentity): string | null {
  switch (loginIdentity) {
    case 'upn':
      return identity.upn || null;
    case 'upnUserPart':
      return identity.upn ? identity.upn.split('@')[0] || null : null;
    case 'onPremName':
      return identity.onPremName || null;
    case 'email':
      return identity.email || null;
  }
}

export class KerberosSso {
  readonly krb: KerberosClient;
  readonly #logger: Logger;
  /** Service tickets per user and SPN (the library caches the TGT and the S4U2Self evidence). */
  readonly #tickets: CredentialCache;

  constructor(krb: KerberosClient, logger: Logger) {
    this.krb = krb;
    this.#logger = logger;
    this.#tickets = new CredentialCache({});
  }

  /** A service ticket for `user` at `spn`: cached, or TGT → S4U2Self → S4U2Proxy, failures explained. */
  ticket(user: string, spn: string): Promise<Credential> {
    return this.#tickets.getOrCreate(`${user}\u0000${spn}`, async () => {
      let step: KcdStep = 'tgt';
      let evidence: Credential | undefined;
      try {
        await this.krb.getTgt();
        step = 's4u2self';
        evidence = await this.krb.s4u2self(user);
        step = 's4u2proxy';
        return await this.krb.s4u2proxy(evidence, spn);
      } catch (err) {
        throw await explainKerberosFailure(this.krb, err, { step, user, spn, evidence });
      }
    });
  }

  forget(user: string, spn: string): void {
    this.#tickets.delete(`${user}\u0000${spn}`);
  }

  async prepare(
    app: ConnectorAppConfig,
    sso: KerberosAppSso,
    identity: Identity | null,
    correlationId: string,
    retry: boolean,
  ): Promise<SsoResult> {
    if (!identity)
      throw new SsoError(
        'DB-SSO-NO-IDENTITY',
        'the request carries no signed-in user (is the app preAuth: passthrough?)',
      );
    const user = loginName(identity, sso.loginIdentity);
    if (!user)
      throw new SsoError('DB-SSO-NO-IDENTITY', `the user has no ${sso.loginIdentity} to delegate as`, {
        log: { userId: identity.userId, loginIdentity: sso.loginIdentity },
      });
    if (retry) this.forget(user, sso.spn);
    const credential = await this.ticket(user, sso.spn);
    const negotiate = this.krb.negotiateFor(credential);
    return {
      headers: { authorization: negotiate.header },
      onResponse: (status, headers, canRetry) =>
        this.#check(negotiate, status, headers['www-authenticate'], canRetry, {
          app,
          user,
          spn: sso.spn,
          correlationId,
          retry,
        }),
    };
  }

  /** The backend's answer: mutual authentication, a refused ticket (retry once), or an NTLM-only backend. */
  #check(
    negotiate: NegotiateResult,
    status: number,
    wwwAuthenticate: string | string[] | undefined,
    canRetry: boolean,
    ctx: { app: ConnectorAppConfig; user: string; spn: string; correlationId: string; retry: boolean },
  ): SsoVerdict {
    const token = negotiateToken(wwwAuthenticate);
    const log = {
      correlationId: ctx.correlationId,
      appId: ctx.app.id,
      user: ctx.user,
      spn: ctx.spn,
      status,
      wwwAuthenticate: schemesOf(wwwAuthenticate),
    };
    if (status === 401) {
      this.forget(ctx.user, ctx.spn);
      if (classifyWwwAuthenticate(wwwAuthenticate).ntlmOnly || (token && isNtlmToken(token))) {
        this.#logger.warn(
          { ...log, code: 'DB-KCD-BACKEND-NTLM', fix: NTLM_FIX },
          'backend offers only NTLM: Kerberos delegation cannot sign the user in',
        );
        return {
          action: 'fail',
          code: 'DB-KCD-BACKEND-NTLM',
          detail: `${ctx.app.internalUrl} answered 401 with WWW-Authenticate: NTLM only`,
        };
      }
      if (canRetry) {
        this.#logger.info(
          { ...log, step: 'backend' },
          'backend refused the Kerberos ticket: retrying once with a fresh one',
        );
        return { action: 'retry' };
      }
      let why = 'the backend answered 401 to the Negotiate header' + (ctx.retry ? ' again after a fresh ticket' : '');
      if (token) {
        try {
          negotiate.verify(wwwAuthenticate);
        } catch (err) {
          why += `: ${(err as Error).message}`;
        }
      }
      this.#logger.warn({ ...log, code: 'DB-KCD-BACKEND-REJECTED' }, why);
      return { action: 'fail', code: 'DB-KCD-BACKEND-REJECTED', detail: why };
    }
    if (token) {
      try {
        negotiate.verify(wwwAuthenticate);
      } catch (err) {
        const code: ErrorCode = isKerberosError(err, 'KRB-NTLM-ONLY')
          ? 'DB-KCD-BACKEND-NTLM'
          : 'DB-KCD-MUTUAL-AUTH-FAILED';
        this.#logger.warn(
          { ...log, code, err: (err as Error).message },
          "the backend's Negotiate reply does not prove it opened the ticket",
        );
        return { action: 'fail', code, detail: (err as Error).message };
      }
    }
    return PASS;
  }
}

const PASS: SsoVerdict = { action: 'pass' };

function schemesOf(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return (typeof value === 'string' ? [value] : value).map((v) => v.split(/\s+/)[0]).join(', ');
}

/**
 * Turns a Kerberos failure at `step` into its catalogue code, a plain one-line detail and log fields.
 * KDC_ERR_BADOPTION at S4U2Proxy has three causes the wire does not name: with a forwardable evidence ticket the SPN
 * is outside the delegation list; without, either the connector account lacks protocol transition or the user is
 * "sensitive and cannot be delegated" — told apart by S4U2Self for the connector account itself, whose ticket is
 * forwardable exactly when protocol transition is on.
 */
export async function explainKerberosFailure(
  krb: KerberosClient,
  err: unknown,
  at: { step: KcdStep; user?: string; spn?: string; evidence?: Credential | undefined },
): Promise<SsoError> {
  if (err instanceof SsoError) return err;
  if (!isKerberosError(err)) {
    return new SsoError('DB-KCD-FAILED', `${at.step}: ${(err as Error).message}`, {
      cause: err,
      log: { step: at.step },
    });
  }
  const log: Record<string, unknown> = {
    step: at.step,
    krbError: err.code,
    krbName: err.krbName,
    hint: err.hint,
    eText: err.eText,
    kdc: err.kdc,
    user: at.user,
    spn: at.spn,
  };
  const make = (code: ErrorCode, detail: string): SsoError => new SsoError(code, detail, { cause: err, log });
  const who = `${krb.principal.name.components.join('/')}@${krb.realm}`;
  switch (err.code) {
    case 'KRB-CLOCK-SKEW': {
      const s =
        err.skewMs === undefined
          ? ''
          : ` (the KDC is ${Math.round(err.skewMs / 1000)} s ${err.skewMs > 0 ? 'ahead' : 'behind'})`;
      return make(
        'DB-KCD-CLOCK-SKEW',
        `the connector clock differs from the domain controller's by more than 5 minutes${s}`,
      );
    }
    case 'KRB-NO-COMMON-ENCTYPE':
      return make(
        'DB-KCD-NO-COMMON-ENCTYPE',
        `no AES key shared with the KDC at ${at.step}${err.hint ? ` (${err.hint})` : ''}`,
      );
    case 'KRB-KDC-UNREACHABLE':
      return make('DB-KCD-KDC-UNREACHABLE', `no KDC answered${err.hint ? `: ${err.hint}` : ''}`);
    case 'KRB-KEYTAB-FORMAT':
    case 'KRB-KEYTAB-NO-KEY':
      return make('DB-KCD-KEYTAB', `${err.message}${err.hint ? ` (${err.hint})` : ''}`);
    case 'KRB-INTEGRITY':
      return make(
        at.step === 'tgt' ? 'DB-KCD-KEYTAB' : 'DB-KCD-FAILED',
        `${at.step}: cannot decrypt the KDC's reply (outdated keytab?)`,
      );
    case 'KRB-KDC-ERROR':
      break;
    default:
      return make('DB-KCD-FAILED', `${at.step}: ${err.message}`);
  }
  const name = err.krbName ?? (err.krbCode === undefined ? 'KRB-ERROR' : krbErrorName(err.krbCode));
  switch (err.krbCode) {
    case 6: // KDC_ERR_C_PRINCIPAL_UNKNOWN
      return at.step === 'tgt'
        ? make('DB-KCD-KEYTAB', `the KDC does not know the connector account ${who} (${name})`)
        : make('DB-KCD-USER-UNKNOWN', `no domain account ${at.user} (S4U2Self: ${name})`);
    case 7: // KDC_ERR_S_PRINCIPAL_UNKNOWN
      return at.step === 's4u2proxy'
        ? make('DB-KCD-SPN-UNKNOWN', `no account has the SPN ${at.spn} (S4U2Proxy: ${name})`)
        : make('DB-KCD-FAILED', `${at.step}: ${name}${err.hint ? ` (${err.hint})` : ''}`);
    case 12: // KDC_ERR_POLICY
    case 18: // KDC_ERR_CLIENT_REVOKED
      return at.step === 'tgt'
        ? make('DB-KCD-KEYTAB', `the connector account ${who} may not log on (${name}: disabled, expired or locked?)`)
        : make(
            'DB-KCD-USER-DISABLED',
            `the domain account ${at.user} is disabled, expired or locked (S4U2Self: ${name})`,
          );
    case 14: // KDC_ERR_ETYPE_NOSUPP
      return make('DB-KCD-NO-COMMON-ENCTYPE', `${at.step}: ${name}${err.hint ? ` (${err.hint})` : ''}`);
    case 24: // KDC_ERR_PREAUTH_FAILED
      return make(
        'DB-KCD-KEYTAB',
        `the KDC refused the keytab's key for ${who} (${name}): the account password changed since the keytab was exported`,
      );
    case 37: // KRB_AP_ERR_SKEW
      return make('DB-KCD-CLOCK-SKEW', `the connector clock differs from the domain controller's (${name})`);
    case 13: {
      // KDC_ERR_BADOPTION
      if (at.step !== 's4u2proxy') return make('DB-KCD-FAILED', `${at.step}: ${name}`);
      if (at.evidence && isForwardable(at.evidence)) {
        return make('DB-KCD-DELEGATION-NOT-ALLOWED', `${who} may not delegate to ${at.spn} (S4U2Proxy: ${name})`);
      }
      const pt = await protocolTransitionOn(krb);
      log.protocolTransition = pt;
      if (pt === false)
        return make(
          'DB-KCD-PROTOCOL-TRANSITION-OFF',
          `${who} is trusted to delegate with Kerberos only: its S4U2Self tickets are not forwardable (S4U2Proxy: ${name})`,
        );
      if (pt === true)
        return make(
          'DB-KCD-USER-SENSITIVE',
          `${at.user} is marked sensitive and cannot be delegated (S4U2Proxy: ${name})`,
        );
      return make(
        'DB-KCD-PROTOCOL-TRANSITION-OFF',
        `the S4U2Self ticket for ${at.user} is not forwardable: protocol transition is off for ${who}, or the user is sensitive (S4U2Proxy: ${name})`,
      );
    }
    default:
      return make(
        'DB-KCD-FAILED',
        `${at.step}: ${name}${err.eText ? ` (${err.eText})` : ''}${err.hint ? ` (${err.hint})` : ''}`,
      );
  }
}

/** S4U2Self for the connector account itself: forwardable exactly when protocol transition is on (null: unknown). */
export async function protocolTransitionOn(krb: KerberosClient): Promise<boolean | null> {
  try {
    return isForwardable(await krb.s4u2self(krb.principal));
  } catch {
    return null;
  }
}
