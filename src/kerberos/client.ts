// KerberosClient: a service's Kerberos identity (keytab + realm + KDCs) and the
// flows a proxy needs: TGT, S4U2Self, S4U2Proxy, and an HTTP Negotiate header
// for a user, with a verifier for the server's mutual-authentication reply.
import { type Principal, formatPrincipal, NameType, parsePrincipal } from './asn1/principal.ts';
import { GssFlags, gssChecksum, makeApReq, verifyApRep } from './ap-exchange.ts';
import { type KdcSend, requestTgt } from './as-exchange.ts';
import { CredentialCache } from './cache.ts';
import { type Clock, type Credential, systemClock } from './credential.ts';
import { KeyUsage } from './crypto/key-usage.ts';
import { isSupportedEnctype } from './crypto/registry.ts';
import type { EncryptionKey } from './asn1/types.ts';
import { KerberosError } from './errors.ts';
import { type KeySource, keytabKeySource, passwordKeySource } from './key-source.ts';
import { Keytab } from './keytab.ts';
import { KrbErrorCodes } from './krb-error-codes.ts';
import { type S4uPadataMode, s4u2proxy, s4u2self } from './s4u.ts';
import {
  apRepFromNegotiateReply,
  classifyWwwAuthenticate,
  negotiateHeaderValue,
  negotiateToken,
  spnegoInitToken,
  STANDARD_MECH_TYPES,
  WINDOWS_MECH_TYPES,
} from './spnego.ts';
import { type KdcAddress, sendToKdc } from './transport.ts';

export type KerberosClientOptions = {
  realm: string;
  /** Our principal: "connector", "connector@CORP.TEST", "HTTP/host.corp.test". */
  principal: string;
  keytab?: Keytab;
  /** Alternative to a keytab (tools, tests). */
  password?: string;
  /** "host:port" list, tried in order. */
  kdcs: readonly (string | KdcAddress)[];
  /** Default true: AD tickets carry a PAC and rarely fit UDP. */
  preferTcp?: boolean;
  /** Per KDC attempt. Default 3000 ms. */
  timeoutMs?: number;
  clock?: Clock;
  /** Largest tolerated difference with the KDC clock. Default 5 min. */
  maxSkewMs?: number;
  /** Requested ticket lifetime (the KDC may cap it). Default 10 h. */
  ticketLifetimeMs?: number;
  /** Renew cached tickets this long before they expire. Default 5 min. */
  refreshBeforeMs?: number;
  cacheSize?: number;
  /** S4U2Self padata. Default 'for-user' (understood by every AD and Heimdal KDC). */
  s4uPadata?: S4uPadataMode;
  /** Send PA-PAC-OPTIONS with the RBCD bit in S4U2Proxy. Default true, as Windows does. */
  rbcd?: boolean;
  /** SPNEGO mech list order. Default 'windows' (MS krb5 OID first). */
  mechTypes?: 'windows' | 'standard';
  /** Replace the network (tests). */
  send?: KdcSend;
};

export type NegotiateResult = {
  /** Value for the Authorization header: "Negotiate <base64>". */
  header: string;
  credential: Credential;
  /**
   * Check the server's reply for mutual authentication: pass its
   * WWW-Authenticate value(s). Throws KRB-MUTUAL-AUTH-FAILED, KRB-NTLM-ONLY or
   * KRB-SPNEGO-REJECTED; returns the server's subkey / sequence number.
   */
  verify(wwwAuthenticate: string | readonly string[] | undefined): { subkey?: EncryptionKey; seqNumber?: number };
};

const TGT_RETRY_CODES: readonly number[] = [
  KrbErrorCodes.KRB_AP_ERR_TKT_EXPIRED,
  KrbErrorCodes.KDC_ERR_TGT_REVOKED,
  KrbErrorCodes.KRB_AP_ERR_MODIFIED,
];

export class KerberosClient {
  readonly principal: Principal;
  readonly realm: string;
  readonly #keys: KeySource;
  readonly #send: KdcSend;
  readonly #clock: Clock;
  readonly #maxSkewMs: number;
  readonly #lifetimeMs: number;
  readonly #cache: CredentialCache;
  readonly #opts: KerberosClientOptions;

  constructor(opts: KerberosClientOptions) {
    this.#opts = opts;
    this.realm = opts.realm;
    this.principal = parsePrincipal(opts.principal, opts.realm);
    if (opts.keytab) this.#keys = keytabKeySource(opts.keytab, this.principal);
    else if (opts.password !== undefined) this.#keys = passwordKeySource(opts.password, this.principal);
    else throw new KerberosError('KRB-INVALID-ARGUMENT', 'KerberosClient needs a keytab or a password');
    this.#clock = opts.clock ?? systemClock;
    this.#maxSkewMs = opts.maxSkewMs ?? 5 * 60_000;
    this.#lifetimeMs = opts.ticketLifetimeMs ?? 10 * 3600_000;
    this.#cache = new CredentialCache({
      clock: this.#clock,
      ...(opts.refreshBeforeMs === undefined ? {} : { refreshBeforeMs: opts.refreshBeforeMs }),
      ...(opts.cacheSize === undefined ? {} : { maxEntries: opts.cacheSize }),
    });
    this.#send =
      opts.send ??
      ((req) =>
        sendToKdc(req, {
          kdcs: opts.kdcs,
          preferTcp: opts.preferTcp ?? true,
          ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
        }));
  }

  static async fromKeytabFile(path: string, opts: Omit<KerberosClientOptions, 'keytab'>): Promise<KerberosClient> {
    return new KerberosClient({ ...opts, keytab: await Keytab.read(path) });
  }

  /** Enctypes offered to the KDC: what our key source holds, strongest first. */
  get enctypes(): number[] {
    return this.#keys.enctypes().filter(isSupportedEnctype);
  }

  #common(tgt: Credential) {
    // Offer every enctype we implement for tickets and session keys: the
    // service's key type is the KDC's business, not ours.
    return {
      tgt,
      etypes: [18, 17, 20, 19],
      send: this.#send,
      clock: this.#clock,
      lifetimeMs: this.#lifetimeMs,
      maxSkewMs: this.#maxSkewMs,
    };
  }

  /** Our TGT, from the cache or a fresh AS exchange. */
  getTgt(): Promise<Credential> {
    return this.#cache.getOrCreate('tgt', () =>
      requestTgt({
        client: this.principal,
        keys: this.#keys,
        send: this.#send,
        clock: this.#clock,
        lifetimeMs: this.#lifetimeMs,
        maxSkewMs: this.#maxSkewMs,
      }),
    );
  }

  /** A user name as given ("alice", "alice@CORP.TEST", or a UPN "alice@corp.example"). */
  userPrincipal(user: string | Principal): Principal {
    if (typeof user !== 'string') return user;
    const at = user.lastIndexOf('@');
    if (at > 0 && user.slice(at + 1).toUpperCase() !== this.realm.toUpperCase()) {
      // A UPN whose suffix is not the realm: an enterprise name the KDC resolves.
      return { name: { nameType: NameType.ENTERPRISE, components: [user] }, realm: this.realm };
    }
    return parsePrincipal(user, this.realm, NameType.PRINCIPAL);
  }

  servicePrincipal(spn: string | Principal): Principal {
    return typeof spn === 'string' ? parsePrincipal(spn, this.realm, NameType.SRV_INST) : spn;
  }

  /** Run a TGS flow with our TGT; refresh the TGT once if the KDC says it is stale. */
  async #withTgt<T>(run: (tgt: Credential) => Promise<T>): Promise<T> {
    const tgt = await this.getTgt();
    try {
      return await run(tgt);
    } catch (err) {
      if (err instanceof KerberosError && err.krbCode !== undefined && TGT_RETRY_CODES.includes(err.krbCode)) {
        this.#cache.delete('tgt');
        return run(await this.getTgt());
      }
      throw err;
    }
  }

  /** S4U2Self: a ticket to ourselves on behalf of `user` (the "evidence" ticket). */
  s4u2self(user: string | Principal): Promise<Credential> {
    const u = this.userPrincipal(user);
    const key = `self:${formatPrincipal(u.name, u.realm)}`;
    return this.#cache.getOrCreate(key, () =>
      this.#withTgt((tgt) =>
        s4u2self({
          ...this.#common(tgt),
          self: this.principal,
          user: u,
          ...(this.#opts.s4uPadata ? { mode: this.#opts.s4uPadata } : {}),
        }),
      ),
    );
  }

  /** S4U2Proxy: trade the evidence ticket for a ticket to `spn` in the user's name. */
  s4u2proxy(evidence: Credential, spn: string | Principal): Promise<Credential> {
    const target = this.servicePrincipal(spn);
    return this.#withTgt((tgt) => s4u2proxy({ ...this.#common(tgt), evidence, target, rbcd: this.#opts.rbcd ?? true }));
  }

  /** A service ticket for `user` to `spn` (S4U2Self + S4U2Proxy), cached until shortly before expiry. */
  serviceTicketFor(user: string | Principal, spn: string | Principal): Promise<Credential> {
    const u = this.userPrincipal(user);
    const s = this.servicePrincipal(spn);
    const key = `svc:${formatPrincipal(u.name, u.realm)}\u0000${formatPrincipal(s.name, s.realm)}`;
    return this.#cache.getOrCreate(key, async () => this.s4u2proxy(await this.s4u2self(u), s));
  }

  /** Build a SPNEGO AP-REQ (mutual authentication required) from any service credential. */
  negotiateFor(credential: Credential): NegotiateResult {
    const seqNumber = crypto.getRandomValues(new Uint32Array(1))[0] & 0x3fffffff;
    const { apReq, authenticator } = makeApReq({
      credential,
      clock: this.#clock,
      usage: KeyUsage.AP_REQ_AUTHENTICATOR,
      cksum: gssChecksum(GssFlags.MUTUAL | GssFlags.REPLAY | GssFlags.SEQUENCE | GssFlags.CONF | GssFlags.INTEG),
      mutual: true,
      subkey: true,
      seqNumber,
    });
    const mechTypes = this.#opts.mechTypes === 'standard' ? STANDARD_MECH_TYPES : WINDOWS_MECH_TYPES;
    return {
      header: negotiateHeaderValue(spnegoInitToken(apReq, mechTypes)),
      credential,
      verify(wwwAuthenticate) {
        const token = negotiateToken(wwwAuthenticate);
        if (!token) {
          if (classifyWwwAuthenticate(wwwAuthenticate).ntlmOnly)
            throw new KerberosError('KRB-NTLM-ONLY', 'the server offers only NTLM');
          throw new KerberosError(
            'KRB-MUTUAL-AUTH-FAILED',
            'the server reply has no Negotiate token to prove its identity',
          );
        }
        const part = verifyApRep(apRepFromNegotiateReply(token), credential.sessionKey, authenticator);
        return {
          ...(part.subkey ? { subkey: part.subkey } : {}),
          ...(part.seqNumber === undefined ? {} : { seqNumber: part.seqNumber }),
        };
      },
    };
  }

  /** `Authorization: Negotiate …` for `user` at `spn`, and its mutual-auth verifier. */
  async negotiateHeader(user: string | Principal, spn: string | Principal): Promise<NegotiateResult> {
    return this.negotiateFor(await this.serviceTicketFor(user, spn));
  }

  /** Forget every cached ticket (e.g. after a keytab rotation). */
  clearCache(): void {
    this.#cache.clear();
  }
}
