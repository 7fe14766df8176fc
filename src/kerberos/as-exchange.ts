// The AS exchange (RFC 4120 3.1): get a TGT with the client's long-term key.
// First try without pre-authentication; on KDC_ERR_PREAUTH_REQUIRED use the
// enctype and salt the KDC announces in PA-ETYPE-INFO2 for PA-ENC-TIMESTAMP.
import { type Principal, formatPrincipal, NameType, samePrincipalName } from './asn1/principal.ts';
import type { PaData } from './asn1/types.ts';
import { type Clock, type Credential, randomNonce, splitTime } from './credential.ts';
import { getEnctype } from './crypto/registry.ts';
import { KeyUsage } from './crypto/key-usage.ts';
import { KerberosError } from './errors.ts';
import { Channels, publish } from './events.ts';
import { decodeKdcReply, krbErrorToException, measuredSkewMs } from './kdc-reply.ts';
import type { KeySource } from './key-source.ts';
import { KrbErrorCodes } from './krb-error-codes.ts';
import { KdcOptions, MsgType, PaType } from './messages/constants.ts';
import { type EtypeInfo2Entry, decodeEtypeInfo2 } from './messages/etype-info2.ts';
import { decodeEncKdcRepPart } from './messages/kdc-rep.ts';
import { encodeKdcReq, encodeKdcReqBody } from './messages/kdc-req.ts';
import { decodeMethodData, type KrbErrorMessage } from './messages/krb-error.ts';
import { encodePaEncTsEnc } from './messages/pa-enc-timestamp.ts';
import { encodePaPacRequest } from './messages/pa-pac-request.ts';
import { encodeEncryptedData } from './asn1/types.ts';
import { encode } from './asn1/der.ts';
import type { KdcExchange } from './transport.ts';

export type KdcSend = (request: Uint8Array) => Promise<KdcExchange>;

export type AsRequestOptions = {
  client: Principal;
  keys: KeySource;
  send: KdcSend;
  clock: Clock;
  lifetimeMs: number;
  maxSkewMs: number;
  /** Default forwardable | renewable | canonicalize. */
  kdcOptions?: number;
};

export function assertSkew(kdcMs: number, localMs: number, maxSkewMs: number, kdc: string, what: string): void {
  const skewMs = kdcMs - localMs;
  if (Math.abs(skewMs) > maxSkewMs) {
    throw new KerberosError(
      'KRB-CLOCK-SKEW',
      `clock skew too great: ${what} says ${new Date(kdcMs).toISOString()}, local clock ${new Date(localMs).toISOString()} (${Math.round(skewMs / 1000)} s)`,
      {
        skewMs,
        kdc,
        hint: 'synchronise this host with the domain (NTP); Kerberos allows 5 minutes by default',
      },
    );
  }
}

/** A KRB-ERROR with a far-off stime is a clock problem whatever its code says. */
function errorFromKdc(
  e: KrbErrorMessage,
  kdc: string,
  localMs: number,
  maxSkewMs: number,
  hint?: string,
): KerberosError {
  const skew = measuredSkewMs(e, localMs);
  if (Math.abs(skew) > maxSkewMs && e.errorCode !== KrbErrorCodes.KRB_AP_ERR_SKEW) {
    const err = krbErrorToException(e, { kdc, localMs, ...(hint === undefined ? {} : { hint }) });
    return new KerberosError(
      'KRB-CLOCK-SKEW',
      `clock skew too great (${Math.round(skew / 1000)} s); the KDC answered ${err.krbName}`,
      {
        krbCode: e.errorCode,
        skewMs: skew,
        kdc,
        ...(e.eText === undefined ? {} : { eText: e.eText }),
        hint: 'synchronise this host with the domain (NTP)',
      },
    );
  }
  return krbErrorToException(e, { kdc, localMs, ...(hint === undefined ? {} : { hint }) });
}

function chooseEtypeInfo(
  entries: EtypeInfo2Entry[],
  o: AsRequestOptions,
): { entry: EtypeInfo2Entry; key: Uint8Array } | undefined {
  const ours = o.keys.enctypes();
  // The KDC lists its preference first; take the first we hold a key for.
  for (const entry of entries) {
    if (!ours.includes(entry.etype)) continue;
    const key = o.keys.key(entry.etype, entry.salt, entry.s2kparams);
    if (key) return { entry, key };
  }
  return undefined;
}

export async function requestTgt(o: AsRequestOptions): Promise<Credential> {
  const etypes = o.keys.enctypes();
  const who = formatPrincipal(o.client.name, o.client.realm);
  if (etypes.length === 0) {
    throw new KerberosError('KRB-NO-COMMON-ENCTYPE', `no AES key for ${who} (enctypes 17, 18, 19, 20 supported)`, {
      hint: 'export the keytab with AES keys; RC4 and DES are not supported',
    });
  }
  const tgs: Principal = {
    name: { nameType: NameType.SRV_INST, components: ['krbtgt', o.client.realm] },
    realm: o.client.realm,
  };
  let preauth: { entry: EtypeInfo2Entry; key: Uint8Array } | undefined;
  let etypeInfo: EtypeInfo2Entry[] = [];

  for (let attempt = 0; attempt < 2; attempt++) {
    const now = o.clock();
    const nonce = randomNonce();
    const padata: PaData[] = [];
    if (preauth) {
      const { time, usec } = splitTime(now);
      const enc = getEnctype(preauth.entry.etype);
      const cipher = enc.encrypt(
        preauth.key,
        KeyUsage.AS_REQ_PA_ENC_TIMESTAMP,
        encodePaEncTsEnc({ patimestamp: time, pausec: Math.floor(usec) }),
      );
      padata.push({ type: PaType.ENC_TIMESTAMP, value: encode(encodeEncryptedData({ etype: enc.id, cipher })) });
    }
    padata.push({ type: PaType.PAC_REQUEST, value: encodePaPacRequest(true) });
    const body = encodeKdcReqBody({
      kdcOptions: o.kdcOptions ?? KdcOptions.FORWARDABLE | KdcOptions.RENEWABLE | KdcOptions.CANONICALIZE,
      cname: o.client.name,
      realm: o.client.realm,
      sname: tgs.name,
      till: new Date(now + o.lifetimeMs),
      nonce,
      etypes: preauth ? [preauth.entry.etype, ...etypes.filter((e) => e !== preauth!.entry.etype)] : etypes,
    });
    const { reply, kdc } = await o.send(encodeKdcReq(MsgType.AS_REQ, padata, body));
    const localMs = o.clock();
    const r = decodeKdcReply(reply, MsgType.AS_REP);

    if (r.kind === 'error') {
      const e = r.error;
      if (e.errorCode === KrbErrorCodes.KDC_ERR_PREAUTH_REQUIRED && !preauth) {
        const skew = measuredSkewMs(e, localMs);
        assertSkew(localMs + skew, localMs, o.maxSkewMs, kdc, 'the KDC');
        const md = decodeMethodData(e.eData) ?? [];
        const info2 = md.find((p) => p.type === PaType.ETYPE_INFO2);
        etypeInfo = info2 ? decodeEtypeInfo2(info2.value) : [];
        // Without ETYPE-INFO2, RFC 4120 says assume the first enctype we offered with the default salt.
        preauth = chooseEtypeInfo(etypeInfo.length ? etypeInfo : [{ etype: etypes[0] }], o);
        if (!preauth) {
          throw new KerberosError('KRB-NO-COMMON-ENCTYPE', `no key for ${who} in an enctype the KDC accepts`, {
            kdc,
            hint: `KDC offers enctypes ${etypeInfo.map((x) => x.etype).join(', ') || '(none listed)'}; we hold ${etypes.join(', ')}`,
          });
        }
        continue;
      }
      const hint =
        e.errorCode === KrbErrorCodes.KDC_ERR_PREAUTH_FAILED
          ? 'the key does not match the account: keytab outdated (password changed, new kvno) or wrong salt'
          : e.errorCode === KrbErrorCodes.KDC_ERR_C_PRINCIPAL_UNKNOWN
            ? `the KDC does not know ${who}`
            : undefined;
      throw errorFromKdc(e, kdc, localMs, o.maxSkewMs, hint);
    }

    const rep = r.rep;
    const etype = rep.encPart.etype;
    if (!etypes.includes(etype))
      throw new KerberosError('KRB-NO-COMMON-ENCTYPE', `AS-REP encrypted with enctype ${etype} we did not offer`, {
        kdc,
      });
    const salt =
      preauth?.entry.etype === etype
        ? preauth.entry.salt
        : etypeInfoFromRep(rep.padata)?.find((x) => x.etype === etype)?.salt;
    const params = preauth?.entry.etype === etype ? preauth.entry.s2kparams : undefined;
    const key = preauth?.entry.etype === etype ? preauth.key : o.keys.key(etype, salt, params, rep.encPart.kvno);
    if (!key) throw new KerberosError('KRB-NO-COMMON-ENCTYPE', `no key for enctype ${etype}`, { kdc });
    let plain: Uint8Array;
    try {
      plain = getEnctype(etype).decrypt(key, KeyUsage.AS_REP_ENC_PART, rep.encPart.cipher);
    } catch (err) {
      throw new KerberosError('KRB-INTEGRITY', `cannot decrypt the AS-REP for ${who}: wrong key`, {
        kdc,
        hint: `keytab key (enctype ${etype}${rep.encPart.kvno === undefined ? '' : `, kvno ${rep.encPart.kvno}`}) does not match the account`,
        cause: err,
      });
    }
    const enc = decodeEncKdcRepPart(plain);
    if (enc.nonce !== nonce)
      throw new KerberosError('KRB-RESPONSE-MISMATCH', 'AS-REP nonce does not match the request', { kdc });
    if (!samePrincipalName(enc.sname, tgs.name) && enc.sname.components[0] !== 'krbtgt') {
      throw new KerberosError('KRB-RESPONSE-MISMATCH', `AS-REP is for ${formatPrincipal(enc.sname)}, not the TGS`, {
        kdc,
      });
    }
    assertSkew(enc.authtime.getTime(), localMs, o.maxSkewMs, kdc, 'the KDC (authtime)');
    const cred: Credential = {
      client: { name: rep.cname, realm: rep.crealm },
      server: { name: enc.sname, realm: enc.srealm },
      ticket: rep.ticket,
      sessionKey: enc.key,
      flags: enc.flags,
      authtime: enc.authtime,
      endtime: enc.endtime,
      ...(enc.starttime ? { starttime: enc.starttime } : {}),
      ...(enc.renewTill ? { renewTill: enc.renewTill } : {}),
    };
    publish(Channels.ticket, {
      kind: 'tgt',
      client: who,
      server: formatPrincipal(enc.sname, enc.srealm),
      endtime: enc.endtime,
      flags: enc.flags,
      kdc,
    });
    return cred;
  }
  throw new KerberosError('KRB-KDC-ERROR', 'KDC asked for pre-authentication twice', {
    krbCode: KrbErrorCodes.KDC_ERR_PREAUTH_REQUIRED,
  });
}

function etypeInfoFromRep(padata: PaData[]): EtypeInfo2Entry[] | undefined {
  const p = padata.find((x) => x.type === PaType.ETYPE_INFO2);
  if (!p) return undefined;
  try {
    return decodeEtypeInfo2(p.value);
  } catch {
    return undefined;
  }
}
