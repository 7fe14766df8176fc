// Ticket ([APPLICATION 1]) and EncTicketPart ([APPLICATION 3]), RFC 4120 5.3.
// A client never opens a ticket; we keep its DER so it goes back unchanged.
// EncTicketPart is here for service-side use and for test KDCs.
import {
  type Node,
  application,
  encode,
  Fields,
  fields,
  flags,
  int,
  kstring,
  ktime,
  octets,
  parse,
  rawOf,
  unwrapApplication,
} from './der.ts';
import { type PrincipalName, decodePrincipalName, encodePrincipalName } from './principal.ts';
import {
  type AuthorizationDataEntry,
  type EncryptedData,
  type EncryptionKey,
  decodeAuthorizationData,
  decodeEncryptedData,
  decodeEncryptionKey,
  encodeAuthorizationData,
  encodeEncryptedData,
  encodeEncryptionKey,
} from './types.ts';

export type Ticket = {
  realm: string;
  sname: PrincipalName;
  encPart: EncryptedData;
  /** The ticket's DER exactly as received. */
  raw: Uint8Array;
};

export function encodeTicketNode(t: Omit<Ticket, 'raw'>): Node {
  return application(
    1,
    fields({ 0: int(5), 1: kstring(t.realm), 2: encodePrincipalName(t.sname), 3: encodeEncryptedData(t.encPart) }),
  );
}

export function makeTicket(t: Omit<Ticket, 'raw'>): Ticket {
  return { ...t, raw: encode(encodeTicketNode(t)) };
}

export function decodeTicketNode(node: Node): Ticket {
  const f = new Fields(unwrapApplication(node, 1, 'Ticket'), 'Ticket');
  return {
    realm: f.str(1),
    sname: decodePrincipalName(f.node(2)),
    encPart: decodeEncryptedData(f.node(3)),
    raw: rawOf(node),
  };
}

export function decodeTicket(bytes: Uint8Array): Ticket {
  return decodeTicketNode(parse(bytes, 'Ticket'));
}

export type EncTicketPart = {
  flags: number;
  key: EncryptionKey;
  crealm: string;
  cname: PrincipalName;
  transited: { trType: number; contents: Uint8Array };
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  authorizationData?: AuthorizationDataEntry[];
};

export function encodeEncTicketPart(p: EncTicketPart): Uint8Array {
  return encode(
    application(
      3,
      fields({
        0: flags(p.flags),
        1: encodeEncryptionKey(p.key),
        2: kstring(p.crealm),
        3: encodePrincipalName(p.cname),
        4: fields({ 0: int(p.transited.trType), 1: octets(p.transited.contents) }),
        5: ktime(p.authtime),
        6: p.starttime && ktime(p.starttime),
        7: ktime(p.endtime),
        8: p.renewTill && ktime(p.renewTill),
        10: p.authorizationData && encodeAuthorizationData(p.authorizationData),
      }),
    ),
  );
}

export function decodeEncTicketPart(bytes: Uint8Array): EncTicketPart {
  const f = new Fields(unwrapApplication(parse(bytes, 'EncTicketPart'), 3, 'EncTicketPart'), 'EncTicketPart');
  const tr = new Fields(f.node(4), 'TransitedEncoding');
  const out: EncTicketPart = {
    flags: f.flags(0),
    key: decodeEncryptionKey(f.node(1)),
    crealm: f.str(2),
    cname: decodePrincipalName(f.node(3)),
    transited: { trType: tr.int(0), contents: tr.bytes(1) },
    authtime: f.time(5),
    endtime: f.time(7),
  };
  if (f.has(6)) out.starttime = f.time(6);
  if (f.has(8)) out.renewTill = f.time(8);
  if (f.has(10)) out.authorizationData = decodeAuthorizationData(f.node(10));
  return out;
}
