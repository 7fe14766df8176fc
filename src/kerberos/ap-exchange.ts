// Client side of the AP exchange (RFC 4120 3.2): build an AP-REQ from a
// credential, and check the service's AP-REP for mutual authentication.
import type { Checksum, EncryptionKey } from './asn1/types.ts';
import { type Clock, type Credential, splitTime } from './credential.ts';
import { ChecksumType } from './crypto/enctype.ts';
import { KeyUsage } from './crypto/key-usage.ts';
import { getEnctype } from './crypto/registry.ts';
import { KerberosError } from './errors.ts';
import { type Authenticator, encodeApReq, encodeAuthenticator } from './messages/ap-req.ts';
import { type EncApRepPart, decodeApRep, decodeEncApRepPart } from './messages/ap-rep.ts';
import { ApOptions } from './messages/constants.ts';

/** GSS-API context flags carried in the authenticator checksum (RFC 2744 / 4121). */
export const GssFlags = {
  DELEG: 1,
  MUTUAL: 2,
  REPLAY: 4,
  SEQUENCE: 8,
  CONF: 16,
  INTEG: 32,
} as const;

/** RFC 4121 4.1.1 authenticator checksum (type 0x8003): Lgth, Bnd (no channel bindings), Flags. */
export function gssChecksum(flags: number, channelBindingHash: Uint8Array = new Uint8Array(16)): Checksum {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 16, true);
  b.set(channelBindingHash.subarray(0, 16), 4);
  dv.setUint32(20, flags >>> 0, true);
  return { cksumtype: ChecksumType.GSSAPI, checksum: b };
}

export type ApReqOptions = {
  credential: Credential;
  clock: Clock;
  /** 7 inside PA-TGS-REQ, 11 towards a service. */
  usage: number;
  cksum?: Checksum;
  mutual?: boolean;
  /** Add a random subkey of the session key's enctype. */
  subkey?: boolean;
  seqNumber?: number;
};

export type BuiltApReq = { apReq: Uint8Array; authenticator: Authenticator; subkey?: EncryptionKey };

export function makeApReq(o: ApReqOptions): BuiltApReq {
  const enc = getEnctype(o.credential.sessionKey.keytype);
  const { time, usec } = splitTime(o.clock());
  const authenticator: Authenticator = {
    crealm: o.credential.client.realm,
    cname: o.credential.client.name,
    cusec: Math.floor(usec),
    ctime: time,
    ...(o.cksum ? { cksum: o.cksum } : {}),
    ...(o.seqNumber === undefined ? {} : { seqNumber: o.seqNumber }),
  };
  let subkey: EncryptionKey | undefined;
  if (o.subkey) {
    subkey = { keytype: enc.id, keyvalue: enc.randomKey() };
    authenticator.subkey = subkey;
  }
  const cipher = enc.encrypt(o.credential.sessionKey.keyvalue, o.usage, encodeAuthenticator(authenticator));
  const apReq = encodeApReq({
    apOptions: o.mutual ? ApOptions.MUTUAL_REQUIRED : 0,
    ticket: o.credential.ticket,
    authenticator: { etype: enc.id, cipher },
  });
  return { apReq, authenticator, ...(subkey ? { subkey } : {}) };
}

/** Decrypt the AP-REP (usage 12) and check it echoes our authenticator's time. */
export function verifyApRep(apRep: Uint8Array, sessionKey: EncryptionKey, sent: Authenticator): EncApRepPart {
  let part: EncApRepPart;
  try {
    const rep = decodeApRep(apRep);
    part = decodeEncApRepPart(
      getEnctype(sessionKey.keytype).decrypt(sessionKey.keyvalue, KeyUsage.AP_REP_ENC_PART, rep.encPart.cipher),
    );
  } catch (err) {
    throw new KerberosError('KRB-MUTUAL-AUTH-FAILED', 'the server reply does not decrypt with the ticket session key', {
      cause: err,
    });
  }
  if (part.ctime.getTime() !== sent.ctime.getTime() || part.cusec !== sent.cusec) {
    throw new KerberosError('KRB-MUTUAL-AUTH-FAILED', 'the server reply does not echo our authenticator time');
  }
  return part;
}
