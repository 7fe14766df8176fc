// AS-REP / TGS-REP ([APPLICATION 11] / [13] KDC-REP) and their encrypted part
// EncASRepPart [25] / EncTGSRepPart [26] (RFC 4120 5.4.2).
import {
  application,
  applicationTag,
  decodeError,
  encode,
  Fields,
  fields,
  flags,
  int,
  kstring,
  ktime,
  parse,
  raw,
  readSequenceOf,
  sequenceOf,
  unwrapApplication,
} from '../asn1/der.ts';
import { type PrincipalName, decodePrincipalName, encodePrincipalName } from '../asn1/principal.ts';
import { type Ticket, decodeTicketNode } from '../asn1/ticket.ts';
import {
  type EncryptedData,
  type EncryptionKey,
  type PaData,
  decodeEncryptedData,
  decodeEncryptionKey,
  decodePaDataList,
  encodeEncryptedData,
  encodeEncryptionKey,
  encodePaData,
} from '../asn1/types.ts';
import { MsgType } from './constants.ts';

export type KdcRep = {
  msgType: typeof MsgType.AS_REP | typeof MsgType.TGS_REP;
  padata: PaData[];
  crealm: string;
  cname: PrincipalName;
  ticket: Ticket;
  encPart: EncryptedData;
};

export type LastReqEntry = { lrType: number; lrValue: Date };

export type EncKdcRepPart = {
  key: EncryptionKey;
  lastReq: LastReqEntry[];
  nonce: number;
  keyExpiration?: Date;
  flags: number;
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  srealm: string;
  sname: PrincipalName;
  encryptedPaData?: PaData[];
};

export function encodeKdcRep(r: KdcRep): Uint8Array {
  const seq = fields({
    0: int(5),
    1: int(r.msgType),
    2: r.padata.length ? sequenceOf(r.padata.map(encodePaData)) : undefined,
    3: kstring(r.crealm),
    4: encodePrincipalName(r.cname),
    5: raw(r.ticket.raw),
    6: encodeEncryptedData(r.encPart),
  });
  return encode(application(r.msgType, seq));
}

export function decodeKdcRep(bytes: Uint8Array): KdcRep {
  const outer = parse(bytes, 'KDC-REP');
  const tag = applicationTag(outer);
  if (tag !== MsgType.AS_REP && tag !== MsgType.TGS_REP) throw decodeError(`KDC-REP (application tag ${tag})`);
  const f = new Fields(unwrapApplication(outer, tag, 'KDC-REP'), 'KDC-REP');
  if (f.int(0) !== 5 || f.int(1) !== tag) throw decodeError('KDC-REP (pvno/msg-type)');
  return {
    msgType: tag,
    padata: f.has(2) ? decodePaDataList(f.node(2)) : [],
    crealm: f.str(3),
    cname: decodePrincipalName(f.node(4)),
    ticket: decodeTicketNode(f.node(5)),
    encPart: decodeEncryptedData(f.node(6)),
  };
}

/** Encode the plaintext of enc-part; `tag` 25 for AS, 26 for TGS. */
export function encodeEncKdcRepPart(p: EncKdcRepPart, tag: 25 | 26): Uint8Array {
  const seq = fields({
    0: encodeEncryptionKey(p.key),
    1: sequenceOf(p.lastReq.map((l) => fields({ 0: int(l.lrType), 1: ktime(l.lrValue) }))),
    2: int(p.nonce >>> 0),
    3: p.keyExpiration && ktime(p.keyExpiration),
    4: flags(p.flags),
    5: ktime(p.authtime),
    6: p.starttime && ktime(p.starttime),
    7: ktime(p.endtime),
    8: p.renewTill && ktime(p.renewTill),
    9: kstring(p.srealm),
    10: encodePrincipalName(p.sname),
    12: p.encryptedPaData && sequenceOf(p.encryptedPaData.map(encodePaData)),
  });
  return encode(application(tag, seq));
}

/** Decode either EncASRepPart or EncTGSRepPart: some KDCs use [26] in AS-REPs. */
export function decodeEncKdcRepPart(bytes: Uint8Array): EncKdcRepPart {
  const outer = parse(bytes, 'EncKDCRepPart');
  const tag = applicationTag(outer);
  if (tag !== 25 && tag !== 26) throw decodeError(`EncKDCRepPart (application tag ${tag})`);
  const f = new Fields(unwrapApplication(outer, tag, 'EncKDCRepPart'), 'EncKDCRepPart');
  const p: EncKdcRepPart = {
    key: decodeEncryptionKey(f.node(0)),
    lastReq: readSequenceOf(f.node(1), 'LastReq').map((n) => {
      const l = new Fields(n, 'LastReq');
      return { lrType: l.int(0), lrValue: l.time(1) };
    }),
    nonce: f.int(2) >>> 0,
    flags: f.flags(4),
    authtime: f.time(5),
    endtime: f.time(7),
    srealm: f.str(9),
    sname: decodePrincipalName(f.node(10)),
  };
  if (f.has(3)) p.keyExpiration = f.time(3);
  if (f.has(6)) p.starttime = f.time(6);
  if (f.has(8)) p.renewTill = f.time(8);
  if (f.has(12)) p.encryptedPaData = decodePaDataList(f.node(12));
  return p;
}
