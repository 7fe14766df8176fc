// AP-REQ ([APPLICATION 14]) and its Authenticator ([APPLICATION 2]), RFC 4120 5.5.1.
// Used twice: inside PA-TGS-REQ (usage 7) and towards the service (usage 11).
import {
  application,
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
  unwrapApplication,
} from '../asn1/der.ts';
import { type PrincipalName, decodePrincipalName, encodePrincipalName } from '../asn1/principal.ts';
import { type Ticket, decodeTicketNode } from '../asn1/ticket.ts';
import {
  type AuthorizationDataEntry,
  type Checksum,
  type EncryptedData,
  type EncryptionKey,
  decodeAuthorizationData,
  decodeChecksum,
  decodeEncryptedData,
  decodeEncryptionKey,
  encodeAuthorizationData,
  encodeChecksum,
  encodeEncryptedData,
  encodeEncryptionKey,
} from '../asn1/types.ts';
import { MsgType } from './constants.ts';

export type ApReq = { apOptions: number; ticket: Ticket; authenticator: EncryptedData };

export type Authenticator = {
  crealm: string;
  cname: PrincipalName;
  cksum?: Checksum;
  cusec: number;
  ctime: Date;
  subkey?: EncryptionKey;
  seqNumber?: number;
  authorizationData?: AuthorizationDataEntry[];
};

export function encodeApReq(a: ApReq): Uint8Array {
  return encode(
    application(
      MsgType.AP_REQ,
      fields({
        0: int(5),
        1: int(MsgType.AP_REQ),
        2: flags(a.apOptions),
        3: raw(a.ticket.raw),
        4: encodeEncryptedData(a.authenticator),
      }),
    ),
  );
}

export function decodeApReq(bytes: Uint8Array): ApReq {
  const f = new Fields(unwrapApplication(parse(bytes, 'AP-REQ'), MsgType.AP_REQ, 'AP-REQ'), 'AP-REQ');
  if (f.int(0) !== 5 || f.int(1) !== MsgType.AP_REQ) throw decodeError('AP-REQ (pvno/msg-type)');
  return { apOptions: f.flags(2), ticket: decodeTicketNode(f.node(3)), authenticator: decodeEncryptedData(f.node(4)) };
}

export function encodeAuthenticator(a: Authenticator): Uint8Array {
  return encode(
    application(
      2,
      fields({
        0: int(5),
        1: kstring(a.crealm),
        2: encodePrincipalName(a.cname),
        3: a.cksum && encodeChecksum(a.cksum),
        4: int(a.cusec),
        5: ktime(a.ctime),
        6: a.subkey && encodeEncryptionKey(a.subkey),
        7: a.seqNumber === undefined ? undefined : int(a.seqNumber >>> 0),
        8: a.authorizationData && encodeAuthorizationData(a.authorizationData),
      }),
    ),
  );
}

export function decodeAuthenticator(bytes: Uint8Array): Authenticator {
  const f = new Fields(unwrapApplication(parse(bytes, 'Authenticator'), 2, 'Authenticator'), 'Authenticator');
  const a: Authenticator = {
    crealm: f.str(1),
    cname: decodePrincipalName(f.node(2)),
    cusec: f.int(4),
    ctime: f.time(5),
  };
  if (f.has(3)) a.cksum = decodeChecksum(f.node(3));
  if (f.has(6)) a.subkey = decodeEncryptionKey(f.node(6));
  if (f.has(7)) a.seqNumber = f.int(7) >>> 0;
  if (f.has(8)) a.authorizationData = decodeAuthorizationData(f.node(8));
  return a;
}
