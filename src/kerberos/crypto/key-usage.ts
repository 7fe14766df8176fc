// Key usage numbers (RFC 4120 section 7.5.1, MS-SFU) and the derived-key kinds.

export const KeyUsage = {
  AS_REQ_PA_ENC_TIMESTAMP: 1,
  KDC_REP_TICKET: 2,
  AS_REP_ENC_PART: 3,
  TGS_REQ_AUTH_DATA_SESSION_KEY: 4,
  TGS_REQ_AUTH_DATA_SUBKEY: 5,
  TGS_REQ_PA_TGS_REQ_CKSUM: 6,
  TGS_REQ_PA_TGS_REQ_AUTHENTICATOR: 7,
  TGS_REP_ENC_PART_SESSION_KEY: 8,
  TGS_REP_ENC_PART_SUBKEY: 9,
  AP_REQ_AUTHENTICATOR_CKSUM: 10,
  AP_REQ_AUTHENTICATOR: 11,
  AP_REP_ENC_PART: 12,
  KRB_PRIV_ENC_PART: 13,
  KRB_CRED_ENC_PART: 14,
  KRB_SAFE_CKSUM: 15,
  /** MS-SFU: the HMAC-MD5 checksum of PA-FOR-USER (KERB_NON_KERB_CKSUM_SALT). */
  PA_FOR_USER_CKSUM: 17,
  /** MS-SFU 2.2.2: checksum over S4UUserID in a request / in a reply. */
  PA_S4U_X509_USER_REQUEST: 26,
  PA_S4U_X509_USER_REPLY: 27,
} as const;

/** The last byte of the derivation constant (RFC 3961 section 5.3 / RFC 8009). */
export const KeyKind = {
  Checksum: 0x99, // Kc
  Encryption: 0xaa, // Ke
  Integrity: 0x55, // Ki
} as const;

export type KeyKindValue = (typeof KeyKind)[keyof typeof KeyKind];

/** usage (4 bytes big-endian) || kind: the input of DK / KDF-HMAC-SHA2. */
export function usageConstant(usage: number, kind: KeyKindValue): Uint8Array {
  const out = new Uint8Array(5);
  new DataView(out.buffer).setUint32(0, usage >>> 0);
  out[4] = kind;
  return out;
}
