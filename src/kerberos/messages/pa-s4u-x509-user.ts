// PA-S4U-X509-USER (MS-SFU 2.2.2, type 130): the newer S4U2Self padata. It names
// the user (or carries a certificate), binds to the request nonce, and its
// checksum uses the TGT session key's own checksum type with key usage 26.
import { encode, Fields, fields, flagBit, flags, int, kstring, octets, parse, raw } from '../asn1/der.ts';
import { type PrincipalName, decodePrincipalName, encodePrincipalName } from '../asn1/principal.ts';
import { type Checksum, decodeChecksum, encodeChecksum } from '../asn1/types.ts';
import type { Enctype } from '../crypto/enctype.ts';
import { KeyUsage } from '../crypto/key-usage.ts';

/** S4UUserID options (MS-SFU 2.2.2). */
export const S4uOptions = {
  /** 0x40000000: have the KDC check the user's logon hours / account state. */
  CHECK_LOGON_HOUR_RESTRICTIONS: flagBit(1),
  /** 0x20000000: the KDC signs its reply's PA-S4U-X509-USER with key usage 27. */
  USE_REPLY_KEY_USAGE: flagBit(2),
  /** 0x10000000 */
  NT_AUTH_POLICY_NOT_REQUIRED: flagBit(3),
  /** 0x08000000 */
  UNCONDITIONAL_DELEGATION: flagBit(4),
} as const;

export type S4uUserId = {
  nonce: number;
  cname?: PrincipalName;
  crealm: string;
  subjectCertificate?: Uint8Array;
  options?: number;
};
export type PaS4uX509User = { userId: S4uUserId; checksum: Checksum };

export function encodeS4uUserId(u: S4uUserId): Uint8Array {
  return encode(
    fields({
      0: int(u.nonce >>> 0),
      1: u.cname && encodePrincipalName(u.cname),
      2: kstring(u.crealm),
      3: u.subjectCertificate && octets(u.subjectCertificate),
      4: u.options === undefined ? undefined : flags(u.options),
    }),
  );
}

export function makePaS4uX509User(
  enctype: Enctype,
  sessionKey: Uint8Array,
  userId: S4uUserId,
): { pa: PaS4uX509User; bytes: Uint8Array } {
  const idBytes = encodeS4uUserId(userId);
  const checksum = {
    cksumtype: enctype.checksumType,
    checksum: enctype.checksum(sessionKey, KeyUsage.PA_S4U_X509_USER_REQUEST, idBytes),
  };
  const pa = { userId, checksum };
  return { pa, bytes: encodePaS4uX509User(pa) };
}

export function encodePaS4uX509User(p: PaS4uX509User): Uint8Array {
  const u = p.userId;
  return encode(
    // The checksum covers user-id's exact DER, so splice the same bytes in.
    fields({ 0: raw(encodeS4uUserId(u)), 1: encodeChecksum(p.checksum) }),
  );
}

export function decodePaS4uX509User(bytes: Uint8Array): PaS4uX509User {
  const f = new Fields(parse(bytes, 'PA-S4U-X509-USER'), 'PA-S4U-X509-USER');
  const u = new Fields(f.node(0), 'S4UUserID');
  const userId: S4uUserId = { nonce: u.int(0) >>> 0, crealm: u.str(2) };
  if (u.has(1)) userId.cname = decodePrincipalName(u.node(1));
  if (u.has(3)) userId.subjectCertificate = u.bytes(3);
  if (u.has(4)) userId.options = u.flags(4);
  return { userId, checksum: decodeChecksum(f.node(1)) };
}
