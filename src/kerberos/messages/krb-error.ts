// KRB-ERROR ([APPLICATION 30], RFC 4120 5.9.1), and its e-data: METHOD-DATA for
// PREAUTH_REQUIRED, and on Windows a KERB-ERROR-DATA / PA-PW-SALT carrying an NTSTATUS.
import * as asn1js from 'asn1js';
import {
  application,
  decodeError,
  encode,
  Fields,
  fields,
  int,
  kstring,
  ktime,
  octets,
  parse,
  unwrapApplication,
} from '../asn1/der.ts';
import { type PrincipalName, decodePrincipalName, encodePrincipalName } from '../asn1/principal.ts';
import { type PaData, decodePaDataList } from '../asn1/types.ts';
import { MsgType, PaType } from './constants.ts';

export type KrbErrorMessage = {
  ctime?: Date;
  cusec?: number;
  stime: Date;
  susec: number;
  errorCode: number;
  crealm?: string;
  cname?: PrincipalName;
  realm: string;
  sname: PrincipalName;
  eText?: string;
  eData?: Uint8Array;
};

export function encodeKrbError(e: KrbErrorMessage): Uint8Array {
  return encode(
    application(
      MsgType.KRB_ERROR,
      fields({
        0: int(5),
        1: int(MsgType.KRB_ERROR),
        2: e.ctime && ktime(e.ctime),
        3: e.cusec === undefined ? undefined : int(e.cusec),
        4: ktime(e.stime),
        5: int(e.susec),
        6: int(e.errorCode),
        7: e.crealm === undefined ? undefined : kstring(e.crealm),
        8: e.cname && encodePrincipalName(e.cname),
        9: kstring(e.realm),
        10: encodePrincipalName(e.sname),
        11: e.eText === undefined ? undefined : kstring(e.eText),
        12: e.eData && octets(e.eData),
      }),
    ),
  );
}

export function decodeKrbError(bytes: Uint8Array): KrbErrorMessage {
  const f = new Fields(unwrapApplication(parse(bytes, 'KRB-ERROR'), MsgType.KRB_ERROR, 'KRB-ERROR'), 'KRB-ERROR');
  if (f.int(0) !== 5 || f.int(1) !== MsgType.KRB_ERROR) throw decodeError('KRB-ERROR (pvno/msg-type)');
  const e: KrbErrorMessage = {
    stime: f.time(4),
    susec: f.int(5),
    errorCode: f.int(6),
    realm: f.str(9),
    sname: decodePrincipalName(f.node(10)),
  };
  if (f.has(2)) e.ctime = f.time(2);
  if (f.has(3)) e.cusec = f.int(3);
  if (f.has(7)) e.crealm = f.str(7);
  if (f.has(8)) e.cname = decodePrincipalName(f.node(8));
  if (f.has(11)) e.eText = f.str(11);
  if (f.has(12)) e.eData = f.bytes(12);
  return e;
}

/** e-data as METHOD-DATA (SEQUENCE OF PA-DATA), or undefined when it is something else. */
export function decodeMethodData(eData: Uint8Array | undefined): PaData[] | undefined {
  if (!eData || eData.length === 0) return undefined;
  try {
    return decodePaDataList(parse(eData, 'METHOD-DATA'));
  } catch {
    return undefined;
  }
}

/**
 * The NTSTATUS Windows KDCs put in e-data (KERB-ERROR-DATA with data-type 3, or a
 * PA-PW-SALT entry): e.g. 0xC0000072 account disabled, 0xC000006D logon failure.
 */
export function extractNtStatus(eData: Uint8Array | undefined): number | undefined {
  if (!eData || eData.length === 0) return undefined;
  const fromExtError = (b: Uint8Array) =>
    b.length >= 4 ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true) : undefined;
  try {
    const node = parse(eData, 'e-data');
    if (node instanceof asn1js.Sequence) {
      const kids = (node.valueBlock as unknown as { value: asn1js.BaseBlock[] }).value;
      // KERB-ERROR-DATA ::= SEQUENCE { data-type [1] INTEGER, data-value [2] OCTET STRING OPTIONAL }
      if (kids.length && kids[0].idBlock.tagClass === 3) {
        const f = new Fields(node, 'KERB-ERROR-DATA');
        if (f.has(1) && f.int(1) === 3 && f.has(2)) return fromExtError(f.bytes(2));
        return undefined;
      }
      const pas = decodePaDataList(node);
      const salt = pas.find((p) => p.type === PaType.PW_SALT);
      if (salt && salt.value.length === 12) return fromExtError(salt.value);
    }
  } catch {
    return undefined;
  }
  return undefined;
}
