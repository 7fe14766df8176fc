// Small Kerberos ASN.1 types shared by many messages (RFC 4120 section 5.2).
import { type Node, Fields, fields, int, octets, readSequenceOf, sequenceOf } from './der.ts';

export type EncryptionKey = { keytype: number; keyvalue: Uint8Array };
export type EncryptedData = { etype: number; kvno?: number; cipher: Uint8Array };
export type Checksum = { cksumtype: number; checksum: Uint8Array };
export type PaData = { type: number; value: Uint8Array };
export type HostAddress = { addrType: number; address: Uint8Array };
export type AuthorizationDataEntry = { adType: number; adData: Uint8Array };

export function encodeEncryptionKey(k: EncryptionKey): Node {
  return fields({ 0: int(k.keytype), 1: octets(k.keyvalue) });
}
export function decodeEncryptionKey(n: Node): EncryptionKey {
  const f = new Fields(n, 'EncryptionKey');
  return { keytype: f.int(0), keyvalue: f.bytes(1) };
}

export function encodeEncryptedData(e: EncryptedData): Node {
  return fields({ 0: int(e.etype), 1: e.kvno === undefined ? undefined : int(e.kvno), 2: octets(e.cipher) });
}
export function decodeEncryptedData(n: Node): EncryptedData {
  const f = new Fields(n, 'EncryptedData');
  const out: EncryptedData = { etype: f.int(0), cipher: f.bytes(2) };
  if (f.has(1)) out.kvno = f.int(1) >>> 0; // UInt32; some KDCs encode it as a negative Int32
  return out;
}

export function encodeChecksum(c: Checksum): Node {
  return fields({ 0: int(c.cksumtype), 1: octets(c.checksum) });
}
export function decodeChecksum(n: Node): Checksum {
  const f = new Fields(n, 'Checksum');
  return { cksumtype: f.int(0), checksum: f.bytes(1) };
}

export function encodePaData(p: PaData): Node {
  // PA-DATA uses tags [1] and [2] (there is no [0]).
  return fields({ 1: int(p.type), 2: octets(p.value) });
}
export function decodePaData(n: Node): PaData {
  const f = new Fields(n, 'PA-DATA');
  return { type: f.int(1), value: f.bytes(2) };
}
export function decodePaDataList(n: Node): PaData[] {
  return readSequenceOf(n, 'METHOD-DATA').map(decodePaData);
}

export function encodeHostAddress(a: HostAddress): Node {
  return fields({ 0: int(a.addrType), 1: octets(a.address) });
}
export function decodeHostAddress(n: Node): HostAddress {
  const f = new Fields(n, 'HostAddress');
  return { addrType: f.int(0), address: f.bytes(1) };
}

export function encodeAuthorizationData(entries: AuthorizationDataEntry[]): Node {
  return sequenceOf(entries.map((e) => fields({ 0: int(e.adType), 1: octets(e.adData) })));
}
export function decodeAuthorizationData(n: Node): AuthorizationDataEntry[] {
  return readSequenceOf(n, 'AuthorizationData').map((x) => {
    const f = new Fields(x, 'AuthorizationData');
    return { adType: f.int(0), adData: f.bytes(1) };
  });
}
