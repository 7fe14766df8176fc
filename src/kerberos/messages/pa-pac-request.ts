// KERB-PA-PAC-REQUEST (MS-KILE 2.2.3, type 128): ask the KDC to include a PAC.
import { bool, encode, Fields, fields, parse, type Node } from '../asn1/der.ts';
import * as asn1js from 'asn1js';

export function encodePaPacRequest(includePac: boolean): Uint8Array {
  return encode(fields({ 0: bool(includePac) }));
}

export function decodePaPacRequest(bytes: Uint8Array): boolean {
  const n: Node = new Fields(parse(bytes, 'PA-PAC-REQUEST'), 'PA-PAC-REQUEST').node(0);
  return n instanceof asn1js.Boolean && n.getValue();
}
