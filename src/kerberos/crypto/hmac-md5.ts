// KERB_CHECKSUM_HMAC_MD5 (-138), RFC 4757 section 4 / MS-SFU 2.2.1: the checksum
// PA-FOR-USER carries, keyed with the TGT session key whatever its enctype.
import { createHash, createHmac } from 'node:crypto';

export function hmacMd5Checksum(key: Uint8Array, usage: number, data: Uint8Array): Uint8Array {
  // Ksign = HMAC-MD5(key, "signaturekey\0"); cksum = HMAC-MD5(Ksign, MD5(usage_le32 || data)).
  const ksign = createHmac('md5', key).update('signaturekey\0', 'latin1').digest();
  const usageLe = Buffer.alloc(4);
  usageLe.writeUInt32LE(usage >>> 0);
  const tmp = createHash('md5').update(usageLe).update(data).digest();
  return new Uint8Array(createHmac('md5', ksign).update(tmp).digest());
}
