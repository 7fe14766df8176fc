// The shape every encryption type implements (RFC 3961 section 3 profile).
// Keys are raw bytes; the enctype number travels beside them in EncryptionKey.

export const EncType = {
  AES128_CTS_HMAC_SHA1_96: 17,
  AES256_CTS_HMAC_SHA1_96: 18,
  AES128_CTS_HMAC_SHA256_128: 19,
  AES256_CTS_HMAC_SHA384_192: 20,
  RC4_HMAC: 23, // recognised by number only: never used by this library
} as const;

export const ChecksumType = {
  HMAC_SHA1_96_AES128: 15,
  HMAC_SHA1_96_AES256: 16,
  HMAC_SHA256_128_AES128: 19,
  HMAC_SHA384_192_AES256: 20,
  GSSAPI: 0x8003, // RFC 4121 authenticator checksum (not a real checksum)
  HMAC_MD5: -138, // KERB_CHECKSUM_HMAC_MD5, used by PA-FOR-USER (MS-SFU)
} as const;

export type Enctype = {
  readonly id: number;
  readonly name: string;
  readonly keyBytes: number;
  readonly checksumType: number;
  readonly checksumBytes: number;
  /** Default string-to-key parameters (iteration count, 4 bytes big-endian). */
  readonly defaultIterations: number;
  stringToKey(password: string, salt: string | Uint8Array, params?: Uint8Array): Uint8Array;
  /** Encrypt with a fresh random confounder (or the given one, for test vectors). */
  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder?: Uint8Array): Uint8Array;
  /** Decrypt and verify integrity; throws KRB-INTEGRITY on mismatch. */
  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Uint8Array;
  checksum(key: Uint8Array, usage: number, data: Uint8Array): Uint8Array;
  verifyChecksum(key: Uint8Array, usage: number, data: Uint8Array, mac: Uint8Array): boolean;
  randomKey(): Uint8Array;
};
