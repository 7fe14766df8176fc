// ETYPE-INFO2 (RFC 4120 5.2.7.5): which enctypes, salts and s2kparams the KDC
// holds for the client. The salt decides the key; a wrong guess fails pre-auth.
import { encode, Fields, fields, int, kstring, octets, parse, readSequenceOf, sequenceOf } from '../asn1/der.ts';

export type EtypeInfo2Entry = { etype: number; salt?: string; s2kparams?: Uint8Array };

export function encodeEtypeInfo2(entries: EtypeInfo2Entry[]): Uint8Array {
  return encode(
    sequenceOf(
      entries.map((e) =>
        fields({
          0: int(e.etype),
          1: e.salt === undefined ? undefined : kstring(e.salt),
          2: e.s2kparams && octets(e.s2kparams),
        }),
      ),
    ),
  );
}

export function decodeEtypeInfo2(bytes: Uint8Array): EtypeInfo2Entry[] {
  return readSequenceOf(parse(bytes, 'ETYPE-INFO2'), 'ETYPE-INFO2').map((n) => {
    const f = new Fields(n, 'ETYPE-INFO2-ENTRY');
    const e: EtypeInfo2Entry = { etype: f.int(0) };
    if (f.has(1)) e.salt = f.str(1);
    if (f.has(2)) e.s2kparams = f.bytes(2);
    return e;
  });
}
