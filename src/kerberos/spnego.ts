// SPNEGO (RFC 4178) for HTTP Negotiate (RFC 4559): the client's NegTokenInit
// carrying a Kerberos AP-REQ, and the server's NegTokenResp carrying the AP-REP.
// Also tells NTLM apart, so a caller can report an NTLM-only backend.
import * as asn1js from 'asn1js';
import {
  decodeError,
  encode,
  explicit,
  Fields,
  fields,
  octets,
  oid,
  parse,
  readEnumerated,
  readOctets,
  readOid,
  readSequenceOf,
  sequenceOf,
  tagOf,
} from './asn1/der.ts';
import { KerberosError } from './errors.ts';
import { KrbTokId, Oids, unwrapGssToken, unwrapKrb5Token, wrapGssToken, wrapKrb5Token } from './gss-token.ts';

export const NegState = { ACCEPT_COMPLETED: 0, ACCEPT_INCOMPLETE: 1, REJECT: 2, REQUEST_MIC: 3 } as const;

export type NegTokenInit = { mechTypes: string[]; mechToken?: Uint8Array };
export type NegTokenResp = {
  negState?: number;
  supportedMech?: string;
  responseToken?: Uint8Array;
  mechListMic?: Uint8Array;
};

/** Windows lists the MS OID first; MIT and Heimdal acceptors take either. */
export const WINDOWS_MECH_TYPES: readonly string[] = [Oids.MS_KRB5, Oids.KRB5];
export const STANDARD_MECH_TYPES: readonly string[] = [Oids.KRB5, Oids.MS_KRB5];

export function encodeNegTokenInit(t: NegTokenInit): Uint8Array {
  const init = fields({ 0: sequenceOf(t.mechTypes.map(oid)), 2: t.mechToken && octets(t.mechToken) });
  return wrapGssToken(Oids.SPNEGO, encode(explicit(0, init)));
}

export function decodeNegTokenInit(token: Uint8Array): NegTokenInit {
  const { mech, inner } = unwrapGssToken(token);
  if (mech !== Oids.SPNEGO) throw decodeError(`SPNEGO token (mech ${mech})`);
  const node = parse(inner, 'NegotiationToken');
  const t = tagOf(node);
  if (t.cls !== 3 || t.num !== 0) throw decodeError('NegTokenInit');
  const f = new Fields((node as asn1js.Constructed).valueBlock.value[0], 'NegTokenInit');
  const out: NegTokenInit = { mechTypes: readSequenceOf(f.node(0), 'MechTypeList').map(readOid) };
  if (f.has(2)) out.mechToken = f.bytes(2);
  return out;
}

export function encodeNegTokenResp(t: NegTokenResp): Uint8Array {
  const resp = fields({
    0: t.negState === undefined ? undefined : new asn1js.Enumerated({ value: t.negState }),
    1: t.supportedMech === undefined ? undefined : oid(t.supportedMech),
    2: t.responseToken && octets(t.responseToken),
    3: t.mechListMic && octets(t.mechListMic),
  });
  return encode(explicit(1, resp));
}

export function decodeNegTokenResp(bytes: Uint8Array): NegTokenResp {
  const node = parse(bytes, 'NegTokenResp');
  const t = tagOf(node);
  if (t.cls !== 3 || t.num !== 1) throw decodeError('NegTokenResp');
  const f = new Fields((node as asn1js.Constructed).valueBlock.value[0], 'NegTokenResp');
  const out: NegTokenResp = {};
  if (f.has(0)) out.negState = readEnumerated(f.node(0));
  if (f.has(1)) out.supportedMech = readOid(f.node(1));
  if (f.has(2)) out.responseToken = readOctets(f.node(2));
  if (f.has(3)) out.mechListMic = readOctets(f.node(3));
  return out;
}

/** SPNEGO initial token wrapping a Kerberos AP-REQ. */
export function spnegoInitToken(apReq: Uint8Array, mechTypes: readonly string[] = WINDOWS_MECH_TYPES): Uint8Array {
  return encodeNegTokenInit({ mechTypes: [...mechTypes], mechToken: wrapKrb5Token(KrbTokId.AP_REQ, apReq) });
}

export function negotiateHeaderValue(token: Uint8Array): string {
  return `Negotiate ${Buffer.from(token).toString('base64')}`;
}

const NTLMSSP = [0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00]; // "NTLMSSP\0"

export function isNtlmToken(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && NTLMSSP.every((b, i) => bytes[i] === b);
}

export type Challenge = { scheme: string; token?: string };

/** Parse WWW-Authenticate value(s) into challenges (auth-params are skipped). */
export function parseWwwAuthenticate(value: string | readonly string[] | undefined): Challenge[] {
  const values = value === undefined ? [] : typeof value === 'string' ? [value] : value;
  const out: Challenge[] = [];
  for (const v of values) {
    for (const piece of v.split(',')) {
      // `name=value` is an auth-param of the previous challenge (realm="x").
      if (/^\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*=/.test(piece) && !/^\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+\s+/.test(piece))
        continue;
      const m = /^\s*([A-Za-z0-9!#$%&'*+.^_`|~-]+)(?:\s+(.*?))?\s*$/.exec(piece);
      if (!m) continue;
      const rest = m[2];
      out.push(rest && /^[A-Za-z0-9+/._~-]+=*$/.test(rest) ? { scheme: m[1], token: rest } : { scheme: m[1] });
    }
  }
  return out;
}

export type BackendAuth = {
  negotiate: boolean;
  ntlm: boolean;
  /** Offers NTLM and no Negotiate: Kerberos delegation cannot log users on here. */
  ntlmOnly: boolean;
};

/** What a 401's WWW-Authenticate offers: Negotiate (Kerberos possible), NTLM, or NTLM only. */
export function classifyWwwAuthenticate(value: string | readonly string[] | undefined): BackendAuth {
  const ch = parseWwwAuthenticate(value);
  const negotiate = ch.some((c) => c.scheme.toLowerCase() === 'negotiate');
  const ntlm = ch.some((c) => c.scheme.toLowerCase() === 'ntlm');
  return { negotiate, ntlm, ntlmOnly: ntlm && !negotiate };
}

/** The token of a `Negotiate <b64>` challenge, if any. */
export function negotiateToken(value: string | readonly string[] | undefined): Uint8Array | undefined {
  const c = parseWwwAuthenticate(value).find((x) => x.scheme.toLowerCase() === 'negotiate' && x.token);
  return c?.token ? new Uint8Array(Buffer.from(c.token, 'base64')) : undefined;
}

/**
 * Extract the Kerberos AP-REP from a server's Negotiate reply token. Accepts a
 * NegTokenResp (the norm) or a bare Kerberos GSS token (some servers skip SPNEGO).
 * Throws KRB-NTLM-ONLY for an NTLM answer and KRB-SPNEGO-REJECTED for a reject.
 */
export function apRepFromNegotiateReply(token: Uint8Array): Uint8Array {
  if (isNtlmToken(token)) throw new KerberosError('KRB-NTLM-ONLY', 'the server answered with NTLM, not Kerberos');
  let krbToken: Uint8Array;
  if (token[0] === 0xa1) {
    const resp = decodeNegTokenResp(token);
    if (resp.supportedMech === Oids.NTLMSSP)
      throw new KerberosError('KRB-NTLM-ONLY', 'the server chose NTLM in SPNEGO');
    if (resp.negState === NegState.REJECT)
      throw new KerberosError('KRB-SPNEGO-REJECTED', 'the server rejected SPNEGO negotiation');
    if (!resp.responseToken)
      throw new KerberosError('KRB-MUTUAL-AUTH-FAILED', 'the server reply carries no response token (no AP-REP)');
    if (isNtlmToken(resp.responseToken))
      throw new KerberosError('KRB-NTLM-ONLY', 'the server answered with NTLM, not Kerberos');
    krbToken = resp.responseToken;
  } else {
    krbToken = token;
  }
  const { tokId, message } = unwrapKrb5Token(krbToken);
  if (tokId === KrbTokId.KRB_ERROR)
    throw new KerberosError('KRB-SPNEGO-REJECTED', 'the server returned a KRB-ERROR token');
  if (tokId !== KrbTokId.AP_REP) throw decodeError(`Kerberos token id 0x${tokId.toString(16)}`);
  return message;
}
