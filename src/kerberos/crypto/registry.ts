// Enctype lookup by number, and the preference order we offer to the KDC.
import { KerberosError } from '../errors.ts';
import { aes128CtsHmacSha196, aes256CtsHmacSha196 } from './aes-sha1.ts';
import { aes128CtsHmacSha256128, aes256CtsHmacSha384192 } from './aes-sha2.ts';
import type { Enctype } from './enctype.ts';

const all = [aes256CtsHmacSha384192, aes128CtsHmacSha256128, aes256CtsHmacSha196, aes128CtsHmacSha196] as const;
const byId = new Map<number, Enctype>(all.map((e) => [e.id, e]));

/** Strongest first. AD (2016+) speaks 17/18 only; MIT and Heimdal may also offer 19/20. */
export const SUPPORTED_ENCTYPES: readonly number[] = [18, 17, 20, 19];

export function isSupportedEnctype(id: number): boolean {
  return byId.has(id);
}

export function getEnctype(id: number): Enctype {
  const e = byId.get(id);
  if (!e)
    throw new KerberosError(
      'KRB-UNSUPPORTED-ENCTYPE',
      `enctype ${id} is not supported (AES enctypes 17, 18, 19, 20 only)`,
    );
  return e;
}

/** Checksum type → the enctype whose keyed checksum it is (for verifying KDC checksums). */
export function enctypeForChecksum(cksumtype: number): Enctype | undefined {
  for (const e of all) if (e.checksumType === cksumtype) return e;
  return undefined;
}
