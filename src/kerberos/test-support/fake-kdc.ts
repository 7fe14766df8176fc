// An in-memory KDC and Negotiate service for tests: enough of AS, TGS,
// S4U2Self and S4U2Proxy to drive KerberosClient end to end without a network.
// Plug it in with `new KerberosClient({ ..., send: kdc.send })`.
import { type PrincipalName, formatPrincipal } from '../asn1/principal.ts';
import { decodeEncTicketPart, encodeEncTicketPart, makeTicket, type Ticket } from '../asn1/ticket.ts';
import { decodeEncryptedData, type EncryptionKey } from '../asn1/types.ts';
import { parse } from '../asn1/der.ts';
import { hmacMd5Checksum } from '../crypto/hmac-md5.ts';
import { KeyUsage } from '../crypto/key-usage.ts';
import { getEnctype } from '../crypto/registry.ts';
import type { Keytab } from '../keytab.ts';
import { decodeApReq, decodeAuthenticator } from '../messages/ap-req.ts';
import { encodeApRep, encodeEncApRepPart } from '../messages/ap-rep.ts';
import { KdcOptions, MsgType, PaType, TicketFlags } from '../messages/constants.ts';
import { encodeEtypeInfo2 } from '../messages/etype-info2.ts';
import { encodeEncKdcRepPart, encodeKdcRep } from '../messages/kdc-rep.ts';
import { decodeKdcReq, type KdcReq } from '../messages/kdc-req.ts';
import { encodeKrbError } from '../messages/krb-error.ts';
import { decodePaEncTsEnc } from '../messages/pa-enc-timestamp.ts';
import { decodePaForUser, paForUserChecksumInput } from '../messages/pa-for-user.ts';
import { decodeNegTokenInit, encodeNegTokenResp, NegState } from '../spnego.ts';
import { KrbTokId, Oids, unwrapKrb5Token, wrapKrb5Token } from '../gss-token.ts';
import { encode, sequenceOf } from '../asn1/der.ts';
import { encodePaData } from '../asn1/types.ts';
import type { KdcExchange } from '../transport.ts';

export type FakeAccount = {
  key: EncryptionKey;
  salt?: string;
  /** Service accounts: S4U2Self tickets are forwardable (default true). */
  protocolTransition?: boolean;
  /** Service accounts: SPNs it may delegate to ("HTTP/app.corp.test"). */
  allowedToDelegateTo?: string[];
  /** Users: "sensitive and cannot be delegated". */
  notDelegated?: boolean;
  disabled?: boolean;
};

export class FakeKdc {
  readonly realm: string;
  readonly accounts = new Map<string, FakeAccount>();
  readonly krbtgtKey: EncryptionKey;
  /** KDC clock; defaults to the real one. */
  now: () => number = () => Date.now();
  requests: { msgType: number; sname: string }[] = [];

  constructor(realm: string) {
    this.realm = realm;
    this.krbtgtKey = { keytype: 18, keyvalue: getEnctype(18).randomKey() };
  }

  /** Register an account; name as "connector" or "HTTP/app.corp.test". */
  addAccount(name: string, account: FakeAccount): void {
    this.accounts.set(name.toLowerCase(), account);
  }

  /** Register the accounts of a keytab's entries (newest key per principal). */
  addFromKeytab(keytab: Keytab, extra: Omit<FakeAccount, 'key'> = {}): void {
    for (const p of keytab.principals()) {
      const e = keytab.findKey({ principal: p });
      this.addAccount(p.name.components.join('/'), { key: { keytype: e.enctype, keyvalue: e.key }, ...extra });
    }
  }

  send = async (request: Uint8Array): Promise<KdcExchange> => ({
    reply: this.handle(request),
    kdc: 'fake:88',
    transport: 'tcp',
  });

  handle(request: Uint8Array): Uint8Array {
    const req = decodeKdcReq(request);
    this.requests.push({ msgType: req.msgType, sname: req.body.sname ? formatPrincipal(req.body.sname) : '' });
    return req.msgType === MsgType.AS_REQ ? this.#as(req) : this.#tgs(req);
  }

  error(code: number, sname: PrincipalName, eData?: Uint8Array, eText?: string): Uint8Array {
    const now = this.now();
    return encodeKrbError({
      stime: new Date(Math.floor(now / 1000) * 1000),
      susec: (now % 1000) * 1000,
      errorCode: code,
      realm: this.realm,
      sname,
      ...(eData ? { eData } : {}),
      ...(eText ? { eText } : {}),
    });
  }

  #account(name: PrincipalName | undefined): FakeAccount | undefined {
    return name ? this.accounts.get(name.components.join('/').toLowerCase()) : undefined;
  }

  #issue(
    req: KdcReq,
    client: PrincipalName,
    server: PrincipalName,
    serverKey: EncryptionKey,
    flags: number,
    replyKey: EncryptionKey,
    replyUsage: number,
    tag: 25 | 26,
  ): Uint8Array {
    const now = new Date(Math.floor(this.now() / 1000) * 1000);
    const end = new Date(Math.min(req.body.till.getTime(), now.getTime() + 10 * 3600_000));
    const sessionKey = { keytype: 18, keyvalue: getEnctype(18).randomKey() };
    const ticket: Ticket = makeTicket({
      realm: this.realm,
      sname: server,
      encPart: {
        etype: serverKey.keytype,
        kvno: 2,
        cipher: getEnctype(serverKey.keytype).encrypt(
          serverKey.keyvalue,
          KeyUsage.KDC_REP_TICKET,
          encodeEncTicketPart({
            flags,
            key: sessionKey,
            crealm: this.realm,
            cname: client,
            transited: { trType: 1, contents: new Uint8Array(0) },
            authtime: now,
            endtime: end,
          }),
        ),
      },
    });
    const encPart = encodeEncKdcRepPart(
      {
        key: sessionKey,
        lastReq: [],
        nonce: req.body.nonce,
        flags,
        authtime: now,
        starttime: now,
        endtime: end,
        srealm: this.realm,
        sname: server,
      },
      tag,
    );
    return encodeKdcRep({
      msgType: tag === 25 ? MsgType.AS_REP : MsgType.TGS_REP,
      padata: [],
      crealm: this.realm,
      cname: client,
      ticket,
      encPart: {
        etype: replyKey.keytype,
        cipher: getEnctype(replyKey.keytype).encrypt(replyKey.keyvalue, replyUsage, encPart),
      },
    });
  }

  #as(req: KdcReq): Uint8Array {
    const sname = req.body.sname!;
    const acct = this.#account(req.body.cname);
    if (!acct) return this.error(6, sname);
    if (!req.body.etypes.includes(acct.key.keytype)) return this.error(14, sname);
    const ts = req.padata.find((p) => p.type === PaType.ENC_TIMESTAMP);
    if (!ts) {
      const info = encodeEtypeInfo2([
        { etype: acct.key.keytype, salt: acct.salt ?? this.realm + req.body.cname!.components.join('') },
      ]);
      return this.error(
        25,
        sname,
        encode(
          sequenceOf([
            encodePaData({ type: PaType.ETYPE_INFO2, value: info }),
            encodePaData({ type: PaType.ENC_TIMESTAMP, value: new Uint8Array(0) }),
          ]),
        ),
      );
    }
    try {
      const ed = decodeEncryptedData(parse(ts.value));
      const t = decodePaEncTsEnc(
        getEnctype(ed.etype).decrypt(acct.key.keyvalue, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, ed.cipher),
      );
      if (Math.abs(t.patimestamp.getTime() - this.now()) > 5 * 60_000) return this.error(37, sname);
    } catch {
      return this.error(24, sname);
    }
    const flags = TicketFlags.FORWARDABLE | TicketFlags.INITIAL | TicketFlags.PRE_AUTHENT;
    return this.#issue(req, req.body.cname!, sname, this.krbtgtKey, flags, acct.key, KeyUsage.AS_REP_ENC_PART, 25);
  }

  #tgs(req: KdcReq): Uint8Array {
    const sname = req.body.sname!;
    const pa = req.padata.find((p) => p.type === PaType.TGS_REQ);
    if (!pa) return this.error(16, sname);
    const ap = decodeApReq(pa.value);
    const tgt = decodeEncTicketPart(
      getEnctype(ap.ticket.encPart.etype).decrypt(
        this.krbtgtKey.keyvalue,
        KeyUsage.KDC_REP_TICKET,
        ap.ticket.encPart.cipher,
      ),
    );
    if (tgt.endtime.getTime() < this.now()) return this.error(32, sname);
    const sk = tgt.key;
    const auth = decodeAuthenticator(
      getEnctype(sk.keytype).decrypt(sk.keyvalue, KeyUsage.TGS_REQ_PA_TGS_REQ_AUTHENTICATOR, ap.authenticator.cipher),
    );
    if (
      !auth.cksum ||
      !getEnctype(sk.keytype).verifyChecksum(
        sk.keyvalue,
        KeyUsage.TGS_REQ_PA_TGS_REQ_CKSUM,
        req.bodyRaw,
        auth.cksum.checksum,
      )
    )
      return this.error(41, sname);
    const replyKey = auth.subkey ?? sk;
    const replyUsage = auth.subkey ? KeyUsage.TGS_REP_ENC_PART_SUBKEY : KeyUsage.TGS_REP_ENC_PART_SESSION_KEY;
    const self = this.#account(tgt.cname);
    const forUser = req.padata.find((p) => p.type === PaType.FOR_USER);
    if (forUser) {
      const fu = decodePaForUser(forUser.value);
      const expect = hmacMd5Checksum(
        sk.keyvalue,
        KeyUsage.PA_FOR_USER_CKSUM,
        paForUserChecksumInput(fu.userName, fu.userRealm, fu.authPackage),
      );
      if (Buffer.compare(expect, fu.cksum.checksum) !== 0) return this.error(41, sname);
      const user = this.#account(fu.userName);
      if (!user) return this.error(6, sname);
      if (user.disabled) return this.error(12, sname);
      const forwardable = self?.protocolTransition !== false && !user.notDelegated;
      const flags = forwardable ? TicketFlags.FORWARDABLE | TicketFlags.PRE_AUTHENT : TicketFlags.PRE_AUTHENT;
      return this.#issue(req, fu.userName, sname, self!.key, flags, replyKey, replyUsage, 26);
    }
    const target = this.#account(sname);
    if (!target) return this.error(7, sname);
    if ((req.body.kdcOptions & KdcOptions.CNAME_IN_ADDL_TKT) >>> 0) {
      const ev = req.body.additionalTickets?.[0];
      if (!ev) return this.error(13, sname);
      const evPart = decodeEncTicketPart(
        getEnctype(ev.encPart.etype).decrypt(self!.key.keyvalue, KeyUsage.KDC_REP_TICKET, ev.encPart.cipher),
      );
      if (!(evPart.flags & TicketFlags.FORWARDABLE)) return this.error(13, sname);
      if (!self?.allowedToDelegateTo?.includes(formatPrincipal(sname))) return this.error(13, sname);
      return this.#issue(
        req,
        evPart.cname,
        sname,
        target.key,
        TicketFlags.FORWARDABLE | TicketFlags.PRE_AUTHENT,
        replyKey,
        replyUsage,
        26,
      );
    }
    return this.#issue(req, tgt.cname, sname, target.key, TicketFlags.PRE_AUTHENT, replyKey, replyUsage, 26);
  }

  /**
   * Play the HTTP service `spn`: check an `Authorization: Negotiate` value and
   * return the `WWW-Authenticate` value with the AP-REP, and the user's name.
   */
  acceptNegotiate(spn: string, authorization: string): { user: string; wwwAuthenticate: string } {
    const svc = this.accounts.get(spn.toLowerCase());
    if (!svc) throw new Error(`no account ${spn}`);
    const token = new Uint8Array(Buffer.from(authorization.replace(/^Negotiate\s+/i, ''), 'base64'));
    const { message } = unwrapKrb5Token(decodeNegTokenInit(token).mechToken!);
    const ap = decodeApReq(message);
    const tkt = decodeEncTicketPart(
      getEnctype(ap.ticket.encPart.etype).decrypt(svc.key.keyvalue, KeyUsage.KDC_REP_TICKET, ap.ticket.encPart.cipher),
    );
    const auth = decodeAuthenticator(
      getEnctype(tkt.key.keytype).decrypt(tkt.key.keyvalue, KeyUsage.AP_REQ_AUTHENTICATOR, ap.authenticator.cipher),
    );
    const part = encodeEncApRepPart({
      ctime: auth.ctime,
      cusec: auth.cusec,
      ...(auth.seqNumber === undefined ? {} : { seqNumber: auth.seqNumber }),
    });
    const apRep = encodeApRep({
      encPart: {
        etype: tkt.key.keytype,
        cipher: getEnctype(tkt.key.keytype).encrypt(tkt.key.keyvalue, KeyUsage.AP_REP_ENC_PART, part),
      },
    });
    const resp = encodeNegTokenResp({
      negState: NegState.ACCEPT_COMPLETED,
      supportedMech: Oids.KRB5,
      responseToken: wrapKrb5Token(KrbTokId.AP_REP, apRep),
    });
    return {
      user: formatPrincipal(tkt.cname, tkt.crealm),
      wwwAuthenticate: `Negotiate ${Buffer.from(resp).toString('base64')}`,
    };
  }
}
