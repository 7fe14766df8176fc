// PA-PAC-OPTIONS (MS-KILE 2.2.10, type 167): a TGS-REQ flag set; S4U2Proxy sets
// resource-based-constrained-delegation so an RBCD-only target can be reached.
import { encode, Fields, fields, flags, parse } from '../asn1/der.ts';

export function encodePaPacOptions(bits: number): Uint8Array {
  return encode(fields({ 0: flags(bits) }));
}

export function decodePaPacOptions(bytes: Uint8Array): number {
  return new Fields(parse(bytes, 'PA-PAC-OPTIONS'), 'PA-PAC-OPTIONS').flags(0);
}
