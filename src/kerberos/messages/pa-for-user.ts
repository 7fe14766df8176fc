// PA-FOR-USER (MS-SFU 2.2.1, type 129): the S4U2Self request names the user
// the service wants a ticket for. Its checksum is KERB_CHECKSUM_HMAC_MD5 keyed
// with the TGT session key (usage 17) over name-type, name, realm, auth-package.
import { encode, Fields, fields, kstring, parse } from '../asn1/der.ts';
import { type PrincipalName, decodePrincipalName, encodePrincipalName } from '../asn1/principal.ts';
import { type Checksum, decodeChecksum, encodeChecksum } from '../asn1/types.ts';
import { concatBytes } from '../crypto/aes-cts.ts';
import { ChecksumType } from '../crypto/enctype.ts';
import { hmacMd5Checksum } from '../crypto/hmac-md5.ts';
import { KeyUsage } from '../crypto/key-usage.ts';

export type PaForUser = { userName: PrincipalName; userRealm: string; cksum: Checksum; authPackage: string };

/** The bytes MS-SFU checksums: name-type (LE 32), each component, realm, auth-package. */
export function paForUserChecksumInput(userName: PrincipalName, userRealm: string, authPackage: string): Uint8Array {
  const nt = new Uint8Array(4);
  new DataView(nt.buffer).setInt32(0, userName.nameType, true);
  const te = new TextEncoder();
  return concatBytes(nt, ...userName.components.map((c) => te.encode(c)), te.encode(userRealm), te.encode(authPackage));
}

export function makePaForUser(sessionKey: Uint8Array, userName: PrincipalName, userRealm: string): PaForUser {
  const authPackage = 'Kerberos';
  const checksum = hmacMd5Checksum(
    sessionKey,
    KeyUsage.PA_FOR_USER_CKSUM,
    paForUserChecksumInput(userName, userRealm, authPackage),
  );
  return { userName, userRealm, cksum: { cksumtype: ChecksumType.HMAC_MD5, checksum }, authPackage };
}

export function encodePaForUser(p: PaForUser): Uint8Array {
  return encode(
    fields({
      0: encodePrincipalName(p.userName),
      1: kstring(p.userRealm),
      2: encodeChecksum(p.cksum),
      3: kstring(p.authPackage),
    }),
  );
}

export function decodePaForUser(bytes: Uint8Array): PaForUser {
  const f = new Fields(parse(bytes, 'PA-FOR-USER'), 'PA-FOR-USER');
  return {
    userName: decodePrincipalName(f.node(0)),
    userRealm: f.str(1),
    cksum: decodeChecksum(f.node(2)),
    authPackage: f.str(3),
  };
}
