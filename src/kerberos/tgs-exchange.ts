// The TGS exchange (RFC 4120 3.3): present the TGT in PA-TGS-REQ (an AP-REQ
// whose authenticator checksums the exact req-body bytes) and ask for a ticket.
// S4U2Self and S4U2Proxy are TGS exchanges with extra padata / tickets.
import { type Principal, formatPrincipal } from './asn1/principal.ts';
import type { Ticket } from './asn1/ticket.ts';
import type { PaData } from './asn1/types.ts';
import { makeApReq } from './ap-exchange.ts';
import { assertSkew, type KdcSend } from './as-exchange.ts';
import { type Clock, type Credential, randomNonce } from './credential.ts';
import { KeyUsage } from './crypto/key-usage.ts';
import { getEnctype } from './crypto/registry.ts';
import { KerberosError } from './errors.ts';
import { decodeKdcReply, krbErrorToException, measuredSkewMs } from './kdc-reply.ts';
import { MsgType, PaType } from './messages/constants.ts';
import { type EncKdcRepPart, type KdcRep, decodeEncKdcRepPart } from './messages/kdc-rep.ts';
import { encodeKdcReq, encodeKdcReqBody } from './messages/kdc-req.ts';
import type { KrbErrorMessage } from './messages/krb-error.ts';

export type TgsRequestOptions = {
  tgt: Credential;
  server: Principal;
  kdcOptions: number;
  etypes: number[];
  send: KdcSend;
  clock: Clock;
  lifetimeMs: number;
  maxSkewMs: number;
  /** Extra padata after PA-TGS-REQ; a function because PA-S4U-X509-USER binds the nonce. */
  padata?: (nonce: number) => PaData[];
  additionalTickets?: Ticket[];
  /** Ask for the reply under a fresh subkey (usage 9) rather than the session key (usage 8). */
  subkey?: boolean;
  /** Explain a KRB-ERROR in this exchange's terms (e.g. BADOPTION in S4U2Proxy). */
  hint?: (e: KrbErrorMessage) => string | undefined;
};

export type TgsResult = { credential: Credential; rep: KdcRep; enc: EncKdcRepPart; kdc: string };

export async function tgsExchange(o: TgsRequestOptions): Promise<TgsResult> {
  const now = o.clock();
  const nonce = randomNonce();
  const body = encodeKdcReqBody({
    kdcOptions: o.kdcOptions,
    realm: o.server.realm,
    sname: o.server.name,
    till: new Date(now + o.lifetimeMs),
    nonce,
    etypes: o.etypes,
    ...(o.additionalTickets ? { additionalTickets: o.additionalTickets } : {}),
  });
  const sk = o.tgt.sessionKey;
  const enc = getEnctype(sk.keytype);
  const cksum = {
    cksumtype: enc.checksumType,
    checksum: enc.checksum(sk.keyvalue, KeyUsage.TGS_REQ_PA_TGS_REQ_CKSUM, body),
  };
  const ap = makeApReq({
    credential: o.tgt,
    clock: o.clock,
    usage: KeyUsage.TGS_REQ_PA_TGS_REQ_AUTHENTICATOR,
    cksum,
    subkey: o.subkey ?? true,
  });
  const padata: PaData[] = [{ type: PaType.TGS_REQ, value: ap.apReq }, ...(o.padata ? o.padata(nonce) : [])];
  const { reply, kdc } = await o.send(encodeKdcReq(MsgType.TGS_REQ, padata, body));
  const localMs = o.clock();
  const r = decodeKdcReply(reply, MsgType.TGS_REP);
  if (r.kind === 'error') {
    const hint = o.hint?.(r.error);
    const skew = measuredSkewMs(r.error, localMs);
    if (Math.abs(skew) > o.maxSkewMs) assertSkew(localMs + skew, localMs, o.maxSkewMs, kdc, 'the KDC');
    throw krbErrorToException(r.error, { kdc, localMs, ...(hint === undefined ? {} : { hint }) });
  }
  const rep = r.rep;
  // With a subkey in the authenticator the KDC encrypts under it (usage 9).
  const replyKey = ap.subkey ?? sk;
  const usage = ap.subkey ? KeyUsage.TGS_REP_ENC_PART_SUBKEY : KeyUsage.TGS_REP_ENC_PART_SESSION_KEY;
  let part: EncKdcRepPart;
  try {
    part = decodeEncKdcRepPart(getEnctype(rep.encPart.etype).decrypt(replyKey.keyvalue, usage, rep.encPart.cipher));
  } catch (err) {
    if (err instanceof KerberosError && err.code !== 'KRB-INTEGRITY') throw err;
    throw new KerberosError('KRB-INTEGRITY', 'cannot decrypt the TGS-REP', { kdc, cause: err });
  }
  if (part.nonce !== nonce)
    throw new KerberosError('KRB-RESPONSE-MISMATCH', 'TGS-REP nonce does not match the request', { kdc });
  const credential: Credential = {
    client: { name: rep.cname, realm: rep.crealm },
    server: { name: part.sname, realm: part.srealm },
    ticket: rep.ticket,
    sessionKey: part.key,
    flags: part.flags,
    authtime: part.authtime,
    endtime: part.endtime,
    ...(part.starttime ? { starttime: part.starttime } : {}),
    ...(part.renewTill ? { renewTill: part.renewTill } : {}),
  };
  return { credential, rep, enc: part, kdc };
}

export function describeCredential(c: Credential): { client: string; server: string } {
  return {
    client: formatPrincipal(c.client.name, c.client.realm),
    server: formatPrincipal(c.server.name, c.server.realm),
  };
}
