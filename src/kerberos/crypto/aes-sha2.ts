// aes128-cts-hmac-sha256-128 (19) and aes256-cts-hmac-sha384-192 (20), RFC 8009:
// keys derived with KDF-HMAC-SHA2 (SP 800-108 counter mode), encrypt-then-MAC
// where the MAC covers IV || ciphertext.
import { createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { KerberosError } from '../errors.ts';
import { concatBytes, ctsDecrypt, ctsEncrypt } from './aes-cts.ts';
import { ChecksumType, EncType, type Enctype } from './enctype.ts';
import { KeyKind, usageConstant } from './key-usage.ts';
import { cachedDerivedKey } from './derived-keys.ts';
import { keyObject } from './key-object.ts';

const BLOCK = 16;
const ZERO_IV = new Uint8Array(BLOCK);

/** KDF-HMAC-SHA2(key, label, [context], k bits): one or more HMAC rounds, truncated. */
export function kdfHmacSha2(
  hash: 'sha256' | 'sha384',
  key: Uint8Array,
  label: Uint8Array,
  bits: number,
  context: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const tail = new Uint8Array(4);
  new DataView(tail.buffer).setUint32(0, bits);
  const out: Uint8Array[] = [];
  let have = 0;
  for (let i = 1; have * 8 < bits; i++) {
    const counter = new Uint8Array(4);
    new DataView(counter.buffer).setUint32(0, i);
    const k = new Uint8Array(
      createHmac(hash, key)
        .update(concatBytes(counter, label, new Uint8Array([0]), context, tail))
        .digest(),
    );
    out.push(k);
    have += k.length;
  }
  return concatBytes(...out).subarray(0, bits / 8);
}

function toBytes(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? new TextEncoder().encode(s) : s;
}

type Sha2Enctype = Enctype & {
  deriveKey(base: Uint8Array, usage: number, kind: number): Uint8Array;
  prf(base: Uint8Array, input: Uint8Array): Uint8Array;
};

function makeAesSha2(
  id: number,
  name: string,
  keyBytes: number,
  hash: 'sha256' | 'sha384',
  macBytes: number,
  checksumType: number,
): Sha2Enctype {
  const hashBits = hash === 'sha256' ? 256 : 384;
  const derive = (base: Uint8Array, usage: number, kind: number): Uint8Array =>
    cachedDerivedKey(base, usage, kind, () => {
      // Ke has the key's length; Kc and Ki the MAC's (RFC 8009 section 5).
      const bits = kind === KeyKind.Encryption ? keyBytes * 8 : macBytes * 8;
      return kdfHmacSha2(hash, base, usageConstant(usage, kind as 0x99), bits);
    });
  const mac = (ki: Uint8Array, data: Uint8Array) =>
    new Uint8Array(createHmac(hash, keyObject(ki)).update(data).digest()).subarray(0, macBytes);
  return {
    id,
    name,
    keyBytes,
    checksumType,
    checksumBytes: macBytes,
    defaultIterations: 32768,
    deriveKey: derive,
    prf(base, input) {
      return kdfHmacSha2(hash, base, new TextEncoder().encode('prf'), hashBits, input);
    },
    stringToKey(password, salt, params) {
      let iter = 32768;
      if (params && params.length) {
        if (params.length !== 4) throw new KerberosError('KRB-INVALID-ARGUMENT', 's2kparams must be 4 bytes');
        iter = new DataView(params.buffer, params.byteOffset, 4).getUint32(0);
        if (iter === 0 || iter > 10_000_000)
          throw new KerberosError('KRB-INVALID-ARGUMENT', `unreasonable iteration count ${iter}`);
      }
      // The salt is prefixed with the enctype name and a zero byte (RFC 8009 section 4).
      const saltp = concatBytes(new TextEncoder().encode(name), new Uint8Array([0]), toBytes(salt));
      const tkey = new Uint8Array(pbkdf2Sync(toBytes(password), saltp, iter, keyBytes, hash));
      return kdfHmacSha2(hash, tkey, new TextEncoder().encode('kerberos'), keyBytes * 8);
    },
    encrypt(key, usage, plaintext, confounder) {
      const conf = confounder ?? new Uint8Array(randomBytes(BLOCK));
      const ke = derive(key, usage, KeyKind.Encryption);
      const ki = derive(key, usage, KeyKind.Integrity);
      const c = ctsEncrypt(ke, concatBytes(conf, plaintext), ZERO_IV);
      return concatBytes(c, mac(ki, concatBytes(ZERO_IV, c)));
    },
    decrypt(key, usage, ciphertext) {
      if (ciphertext.length < BLOCK + macBytes) throw new KerberosError('KRB-INTEGRITY', 'ciphertext too short');
      const ke = derive(key, usage, KeyKind.Encryption);
      const ki = derive(key, usage, KeyKind.Integrity);
      const c = ciphertext.subarray(0, ciphertext.length - macBytes);
      const h = ciphertext.subarray(ciphertext.length - macBytes);
      if (!timingSafeEqual(mac(ki, concatBytes(ZERO_IV, c)), h))
        throw new KerberosError('KRB-INTEGRITY', `${name}: integrity check failed (usage ${usage})`);
      return ctsDecrypt(ke, c, ZERO_IV).subarray(BLOCK);
    },
    checksum(key, usage, data) {
      return mac(derive(key, usage, KeyKind.Checksum), data);
    },
    verifyChecksum(key, usage, data, m) {
      const expected = this.checksum(key, usage, data);
      return m.length === expected.length && timingSafeEqual(expected, m);
    },
    randomKey() {
      return new Uint8Array(randomBytes(keyBytes));
    },
  };
}

export const aes128CtsHmacSha256128 = makeAesSha2(
  EncType.AES128_CTS_HMAC_SHA256_128,
  'aes128-cts-hmac-sha256-128',
  16,
  'sha256',
  16,
  ChecksumType.HMAC_SHA256_128_AES128,
);
export const aes256CtsHmacSha384192 = makeAesSha2(
  EncType.AES256_CTS_HMAC_SHA384_192,
  'aes256-cts-hmac-sha384-192',
  32,
  'sha384',
  24,
  ChecksumType.HMAC_SHA384_192_AES256,
);
