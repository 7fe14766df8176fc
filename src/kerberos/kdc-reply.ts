// Interpret what a KDC sent back: a KDC-REP to decrypt, or a KRB-ERROR that we
// turn into a KerberosError with a stable code, the KDC's numbers and a hint.
import { formatPrincipal } from './asn1/principal.ts';
import { applicationTag, decodeError, parse } from './asn1/der.ts';
import { KerberosError } from './errors.ts';
import { Channels, publish } from './events.ts';
import { KrbErrorCodes, krbErrorName } from './krb-error-codes.ts';
import { MsgType } from './messages/constants.ts';
import { type KdcRep, decodeKdcRep } from './messages/kdc-rep.ts';
import { type KrbErrorMessage, decodeKrbError, extractNtStatus } from './messages/krb-error.ts';

export type KdcReply = { kind: 'rep'; rep: KdcRep } | { kind: 'error'; error: KrbErrorMessage };

export function decodeKdcReply(bytes: Uint8Array, expected: typeof MsgType.AS_REP | typeof MsgType.TGS_REP): KdcReply {
  const tag = applicationTag(parse(bytes, 'KDC reply'));
  if (tag === MsgType.KRB_ERROR) return { kind: 'error', error: decodeKrbError(bytes) };
  if (tag !== expected) throw decodeError(`KDC reply (expected [APPLICATION ${expected}], got ${tag})`);
  return { kind: 'rep', rep: decodeKdcRep(bytes) };
}

/** Difference KDC clock - local clock, from a KRB-ERROR's stime/susec. */
export function measuredSkewMs(e: KrbErrorMessage, localMs: number): number {
  return e.stime.getTime() + Math.floor(e.susec / 1000) - localMs;
}

/** Turn a KRB-ERROR into the error we throw. `hint` adds what the caller knows. */
export function krbErrorToException(
  e: KrbErrorMessage,
  ctx: { kdc: string; localMs: number; hint?: string },
): KerberosError {
  const name = krbErrorName(e.errorCode);
  const skewMs = measuredSkewMs(e, ctx.localMs);
  const nt = extractNtStatus(e.eData);
  publish(Channels.krbError, { kdc: ctx.kdc, krbCode: e.errorCode, krbName: name, eText: e.eText, ntStatus: nt });
  const base = {
    krbCode: e.errorCode,
    krbName: name,
    kdc: ctx.kdc,
    skewMs,
    ...(e.eText === undefined ? {} : { eText: e.eText }),
    ...(e.eData === undefined ? {} : { eData: e.eData }),
  };
  const server = formatPrincipal(e.sname, e.realm);
  const text = e.eText ? `: ${e.eText}` : '';
  const ntText = nt === undefined ? '' : ` (NTSTATUS 0x${nt.toString(16).padStart(8, '0')})`;
  if (e.errorCode === KrbErrorCodes.KRB_AP_ERR_SKEW) {
    return new KerberosError(
      'KRB-CLOCK-SKEW',
      `clock skew too great: KDC time differs from ours by ${Math.round(skewMs / 1000)} s`,
      {
        ...base,
        hint: 'synchronise this host with the domain (NTP); Kerberos allows 5 minutes by default',
      },
    );
  }
  if (e.errorCode === KrbErrorCodes.KDC_ERR_ETYPE_NOSUPP) {
    return new KerberosError('KRB-NO-COMMON-ENCTYPE', `KDC supports none of the enctypes offered${text}`, {
      ...base,
      hint: ctx.hint ?? 'the account needs AES keys (msDS-SupportedEncryptionTypes) and a keytab exported with them',
    });
  }
  return new KerberosError('KRB-KDC-ERROR', `${name} (${e.errorCode}) from KDC for ${server}${text}${ntText}`, {
    ...base,
    ...(ctx.hint === undefined ? {} : { hint: ctx.hint }),
  });
}
