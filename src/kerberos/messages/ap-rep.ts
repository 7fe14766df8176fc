// AP-REP ([APPLICATION 15]) and EncAPRepPart ([APPLICATION 27]), RFC 4120 5.5.2:
// the service's proof, for mutual authentication, that it could open the ticket.
import { application, decodeError, encode, Fields, fields, int, ktime, parse, unwrapApplication } from '../asn1/der.ts';
import {
  type EncryptedData,
  type EncryptionKey,
  decodeEncryptedData,
  decodeEncryptionKey,
  encodeEncryptedData,
  encodeEncryptionKey,
} from '../asn1/types.ts';
import { MsgType } from './constants.ts';

export type ApRep = { encPart: EncryptedData };
export type EncApRepPart = { ctime: Date; cusec: number; subkey?: EncryptionKey; seqNumber?: number };

export function encodeApRep(a: ApRep): Uint8Array {
  return encode(
    application(MsgType.AP_REP, fields({ 0: int(5), 1: int(MsgType.AP_REP), 2: encodeEncryptedData(a.encPart) })),
  );
}

export function decodeApRep(bytes: Uint8Array): ApRep {
  const f = new Fields(unwrapApplication(parse(bytes, 'AP-REP'), MsgType.AP_REP, 'AP-REP'), 'AP-REP');
  if (f.int(0) !== 5 || f.int(1) !== MsgType.AP_REP) throw decodeError('AP-REP (pvno/msg-type)');
  return { encPart: decodeEncryptedData(f.node(2)) };
}

export function encodeEncApRepPart(p: EncApRepPart): Uint8Array {
  return encode(
    application(
      27,
      fields({
        0: ktime(p.ctime),
        1: int(p.cusec),
        2: p.subkey && encodeEncryptionKey(p.subkey),
        3: p.seqNumber === undefined ? undefined : int(p.seqNumber >>> 0),
      }),
    ),
  );
}

export function decodeEncApRepPart(bytes: Uint8Array): EncApRepPart {
  const f = new Fields(unwrapApplication(parse(bytes, 'EncAPRepPart'), 27, 'EncAPRepPart'), 'EncAPRepPart');
  const p: EncApRepPart = { ctime: f.time(0), cusec: f.int(1) };
  if (f.has(2)) p.subkey = decodeEncryptionKey(f.node(2));
  if (f.has(3)) p.seqNumber = f.int(3) >>> 0;
  return p;
}
