// AS-REQ / TGS-REQ ([APPLICATION 10] / [12] KDC-REQ, RFC 4120 5.4.1).
// The body is encoded on its own first: PA-TGS-REQ checksums its exact bytes.
import {
  type Node,
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
  rawOf,
  readInt,
  readSequenceOf,
  sequenceOf,
  unwrapApplication,
} from '../asn1/der.ts';
import { type PrincipalName, decodePrincipalName, encodePrincipalName } from '../asn1/principal.ts';
import { type Ticket, decodeTicketNode } from '../asn1/ticket.ts';
import {
  type EncryptedData,
  type HostAddress,
  type PaData,
  decodeEncryptedData,
  decodeHostAddress,
  decodePaDataList,
  encodeEncryptedData,
  encodeHostAddress,
  encodePaData,
} from '../asn1/types.ts';
import { MsgType } from './constants.ts';

export type KdcReqBody = {
  kdcOptions: number;
  cname?: PrincipalName;
  realm: string;
  sname?: PrincipalName;
  from?: Date;
  till: Date;
  rtime?: Date;
  nonce: number;
  etypes: number[];
  addresses?: HostAddress[];
  encAuthorizationData?: EncryptedData;
  additionalTickets?: Ticket[];
};

export type KdcReq = {
  msgType: typeof MsgType.AS_REQ | typeof MsgType.TGS_REQ;
  padata: PaData[];
  body: KdcReqBody;
  /** The req-body's DER as it appears in the message. */
  bodyRaw: Uint8Array;
};

export function encodeKdcReqBody(b: KdcReqBody): Uint8Array {
  return encode(
    fields({
      0: flags(b.kdcOptions),
      1: b.cname && encodePrincipalName(b.cname),
      2: kstring(b.realm),
      3: b.sname && encodePrincipalName(b.sname),
      4: b.from && ktime(b.from),
      5: ktime(b.till),
      6: b.rtime && ktime(b.rtime),
      7: int(b.nonce >>> 0),
      8: sequenceOf(b.etypes.map(int)),
      9: b.addresses && sequenceOf(b.addresses.map(encodeHostAddress)),
      10: b.encAuthorizationData && encodeEncryptedData(b.encAuthorizationData),
      11: b.additionalTickets && sequenceOf(b.additionalTickets.map((t) => raw(t.raw))),
    }),
  );
}

/** Build AS-REQ or TGS-REQ around an already encoded req-body. */
export function encodeKdcReq(msgType: KdcReq['msgType'], padata: PaData[], bodyRaw: Uint8Array): Uint8Array {
  const seq = fields({
    1: int(5),
    2: int(msgType),
    3: padata.length ? sequenceOf(padata.map(encodePaData)) : undefined,
    4: raw(bodyRaw),
  });
  return encode(application(msgType, seq));
}

export function decodeKdcReqBody(node: Node): KdcReqBody {
  const f = new Fields(node, 'KDC-REQ-BODY');
  const b: KdcReqBody = {
    kdcOptions: f.flags(0),
    realm: f.str(2),
    till: f.time(5),
    nonce: f.int(7) >>> 0,
    etypes: readSequenceOf(f.node(8), 'etype').map(readInt),
  };
  if (f.has(1)) b.cname = decodePrincipalName(f.node(1));
  if (f.has(3)) b.sname = decodePrincipalName(f.node(3));
  if (f.has(4)) b.from = f.time(4);
  if (f.has(6)) b.rtime = f.time(6);
  if (f.has(9)) b.addresses = readSequenceOf(f.node(9), 'HostAddresses').map(decodeHostAddress);
  if (f.has(10)) b.encAuthorizationData = decodeEncryptedData(f.node(10));
  if (f.has(11)) b.additionalTickets = readSequenceOf(f.node(11), 'additional-tickets').map(decodeTicketNode);
  return b;
}

export function decodeKdcReq(bytes: Uint8Array): KdcReq {
  const outer = parse(bytes, 'KDC-REQ');
  const tag = applicationTag(outer);
  if (tag !== MsgType.AS_REQ && tag !== MsgType.TGS_REQ) throw decodeError(`KDC-REQ (application tag ${tag})`);
  const f = new Fields(unwrapApplication(outer, tag, 'KDC-REQ'), 'KDC-REQ');
  if (f.int(1) !== 5 || f.int(2) !== tag) throw decodeError('KDC-REQ (pvno/msg-type)');
  const bodyNode = f.node(4);
  return {
    msgType: tag,
    padata: f.has(3) ? decodePaDataList(f.node(3)) : [],
    body: decodeKdcReqBody(bodyNode),
    bodyRaw: rawOf(bodyNode),
  };
}
