// PA-ENC-TIMESTAMP (RFC 4120 5.2.7.2): the client proves it knows its key by
// encrypting the current time with key usage 1.
import { encode, Fields, fields, int, ktime, parse } from '../asn1/der.ts';

export type PaEncTsEnc = { patimestamp: Date; pausec?: number };

export function encodePaEncTsEnc(p: PaEncTsEnc): Uint8Array {
  return encode(fields({ 0: ktime(p.patimestamp), 1: p.pausec === undefined ? undefined : int(p.pausec) }));
}

export function decodePaEncTsEnc(bytes: Uint8Array): PaEncTsEnc {
  const f = new Fields(parse(bytes, 'PA-ENC-TS-ENC'), 'PA-ENC-TS-ENC');
  const p: PaEncTsEnc = { patimestamp: f.time(0) };
  if (f.has(1)) p.pausec = f.int(1);
  return p;
}
