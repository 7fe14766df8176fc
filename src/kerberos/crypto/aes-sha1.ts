// aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18), RFC 3962:
// keys derived with RFC 3961's DK (n-fold + AES), integrity by truncated HMAC-SHA1.
import { createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { KerberosError } from '../errors.ts';
import { aesBlock, concatBytes, ctsDecrypt, ctsEncrypt } from './aes-cts.ts';
import { ChecksumType, EncType, type Enctype } from './enctype.ts';
import { nfold } from './nfold.ts';
import { usageConstant, KeyKind, type KeyKindValue } from './key-usage.ts';
import { cachedDerivedKey } from './derived-keys.ts';
import { keyObject } from './key-object.ts';

const MAC_BYTES = 12;
const BLOCK = 16;

/** DR then DK (RFC 3961 5.1): encrypt the n-folded constant repeatedly. AES random-to-key is identity. */
export function dk(base: Uint8Array, constant: Uint8Array): Uint8Array {
  let block = constant.length === BLOCK ? constant : nfold(constant, BLOCK);
  const out: Uint8Array[] = [];
  let have = 0;
  while (have < base.length) {
    block = aesBlock(base, block);
    out.push(block);
    have += block.length;
  }
  return concatBytes(...out).subarray(0, base.length);
}

/** Ke / Ki / Kc for a usage, derived once per base key. */
function usageKey(base: Uint8Array, usage: number, kind: KeyKindValue): Uint8Array {
  return cachedDerivedKey(base, usage, kind, () => dk(base, usageConstant(usage, kind)));
}

function hmacSha1(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha1', keyObject(key)).update(data).digest());
}

function toBytes(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? new TextEncoder().encode(s) : s;
}

function iterations(params: Uint8Array | undefined, fallback: number): number {
  if (!params || params.length === 0) return fallback;
  if (params.length !== 4) throw new KerberosError('KRB-INVALID-ARGUMENT', 's2kparams must be 4 bytes');
  const n = new DataView(params.buffer, params.byteOffset, 4).getUint32(0);
  // RFC 3962: 0 would mean 2^32 iterations; refuse rather than hang.
  if (n === 0 || n > 10_000_000) throw new KerberosError('KRB-INVALID-ARGUMENT', `unreasonable iteration count ${n}`);
  return n;
}

function makeAesSha1(id: number, name: string, keyBytes: number, checksumType: number): Enctype {
  return {
    id,
    name,
    keyBytes,
    checksumType,
    checksumBytes: MAC_BYTES,
    defaultIterations: 4096,
    stringToKey(password, salt, params) {
      const tkey = pbkdf2Sync(toBytes(password), toBytes(salt), iterations(params, 4096), keyBytes, 'sha1');
      return dk(new Uint8Array(tkey), new TextEncoder().encode('kerberos'));
    },
    encrypt(key, usage, plaintext, confounder) {
      const conf = confounder ?? new Uint8Array(randomBytes(BLOCK));
      const ke = usageKey(key, usage, KeyKind.Encryption);
      const ki = usageKey(key, usage, KeyKind.Integrity);
      const data = concatBytes(conf, plaintext);
      return concatBytes(ctsEncrypt(ke, data), hmacSha1(ki, data).subarray(0, MAC_BYTES));
    },
    decrypt(key, usage, ciphertext) {
      if (ciphertext.length < BLOCK + MAC_BYTES) throw new KerberosError('KRB-INTEGRITY', 'ciphertext too short');
      const ke = usageKey(key, usage, KeyKind.Encryption);
      const ki = usageKey(key, usage, KeyKind.Integrity);
      const body = ciphertext.subarray(0, ciphertext.length - MAC_BYTES);
      const mac = ciphertext.subarray(ciphertext.length - MAC_BYTES);
      const data = ctsDecrypt(ke, body);
      const expected = hmacSha1(ki, data).subarray(0, MAC_BYTES);
      if (!timingSafeEqual(expected, mac))
        throw new KerberosError('KRB-INTEGRITY', `${name}: integrity check failed (usage ${usage})`);
      return data.subarray(BLOCK);
    },
    checksum(key, usage, data) {
      const kc = usageKey(key, usage, KeyKind.Checksum);
      return hmacSha1(kc, data).subarray(0, MAC_BYTES);
    },
    verifyChecksum(key, usage, data, mac) {
      const expected = this.checksum(key, usage, data);
      return mac.length === expected.length && timingSafeEqual(expected, mac);
    },
    randomKey() {
      return new Uint8Array(randomBytes(keyBytes));
    },
  };
}

export const aes128CtsHmacSha196 = makeAesSha1(
  EncType.AES128_CTS_HMAC_SHA1_96,
  'aes128-cts-hmac-sha1-96',
  16,
  ChecksumType.HMAC_SHA1_96_AES128,
);
export const aes256CtsHmacSha196 = makeAesSha1(
  EncType.AES256_CTS_HMAC_SHA1_96,
  'aes256-cts-hmac-sha1-96',
  32,
  ChecksumType.HMAC_SHA1_96_AES256,
);
