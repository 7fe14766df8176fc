// RFC 2743 3.1 / RFC 4121 4.1 token framing: [APPLICATION 0] { mech OID,
// inner token }. For Kerberos the inner token is a 2-byte TOK_ID then the
// message: 01 00 AP-REQ, 02 00 AP-REP, 03 00 KRB-ERROR.
import { application, decodeError, encode, oid, raw, readOid, parse } from './asn1/der.ts';
import { concatBytes } from './crypto/aes-cts.ts';

export const Oids = {
  KRB5: '1.2.840.113554.1.2.2',
  /** Windows 2000's mistaken encoding of the krb5 OID, still sent first by Windows. */
  MS_KRB5: '1.2.840.48018.1.2.2',
  SPNEGO: '1.3.6.1.5.5.2',
  NTLMSSP: '1.3.6.1.4.1.311.2.2.10',
  NEGOEX: '1.3.6.1.4.1.311.2.2.30',
} as const;

export const KrbTokId = { AP_REQ: 0x0100, AP_REP: 0x0200, KRB_ERROR: 0x0300 } as const;

export function wrapGssToken(mech: string, inner: Uint8Array): Uint8Array {
  return encode(application(0, oid(mech), raw(inner)));
}

export function wrapKrb5Token(tokId: number, message: Uint8Array, mech: string = Oids.KRB5): Uint8Array {
  return wrapGssToken(mech, concatBytes(new Uint8Array([tokId >> 8, tokId & 0xff]), message));
}

/** Read a DER length at `off`; returns [length, bytes used]. */
function readLength(b: Uint8Array, off: number): [number, number] {
  const first = b[off];
  if (first === undefined) throw decodeError('GSS token (truncated)');
  if (first < 0x80) return [first, 1];
  const n = first & 0x7f;
  if (n === 0 || n > 4 || off + 1 + n > b.length) throw decodeError('GSS token (length)');
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + b[off + 1 + i];
  return [len, 1 + n];
}

/** Split a framed token into its mech OID and inner bytes. */
export function unwrapGssToken(token: Uint8Array): { mech: string; inner: Uint8Array } {
  if (token[0] !== 0x60) throw decodeError('GSS token (not [APPLICATION 0])');
  const [len, used] = readLength(token, 1);
  const start = 1 + used;
  if (start + len !== token.length) throw decodeError('GSS token (length mismatch)');
  if (token[start] !== 0x06) throw decodeError('GSS token (no mech OID)');
  const [oidLen, oidUsed] = readLength(token, start + 1);
  const oidEnd = start + 1 + oidUsed + oidLen;
  const mech = readOid(parse(token.subarray(start, oidEnd), 'mech OID'));
  return { mech, inner: token.subarray(oidEnd) };
}

export function unwrapKrb5Token(token: Uint8Array): { mech: string; tokId: number; message: Uint8Array } {
  const { mech, inner } = unwrapGssToken(token);
  if (mech !== Oids.KRB5 && mech !== Oids.MS_KRB5) throw decodeError(`Kerberos GSS token (mech ${mech})`);
  if (inner.length < 2) throw decodeError('Kerberos GSS token (no TOK_ID)');
  return { mech, tokId: (inner[0] << 8) | inner[1], message: inner.subarray(2) };
}
