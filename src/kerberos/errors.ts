// One error class for the whole library. Callers switch on `code` (stable),
// never on message text. KDC failures also carry the RFC 4120 number and name.
import { krbErrorName } from './krb-error-codes.ts';

export type KerberosErrorCode =
  | 'KRB-KDC-ERROR' // the KDC answered with a KRB-ERROR (see krbCode / krbName / eText)
  | 'KRB-CLOCK-SKEW' // local clock and KDC clock differ by more than the allowed skew
  | 'KRB-NO-COMMON-ENCTYPE' // no key we hold uses an enctype the KDC accepts
  | 'KRB-UNSUPPORTED-ENCTYPE' // an enctype or checksum type this library does not implement
  | 'KRB-KDC-UNREACHABLE' // no KDC of the list answered in time
  | 'KRB-KEYTAB-FORMAT' // keytab bytes are not a valid MIT v0x502 keytab
  | 'KRB-KEYTAB-NO-KEY' // keytab has no key for the principal / enctype / kvno asked
  | 'KRB-DECODE' // malformed DER or an unexpected message
  | 'KRB-INTEGRITY' // decryption or checksum verification failed (wrong key, tampering)
  | 'KRB-RESPONSE-MISMATCH' // a reply that does not answer our request (nonce, names)
  | 'KRB-MUTUAL-AUTH-FAILED' // the server's AP-REP did not prove it holds the ticket key
  | 'KRB-SPNEGO-REJECTED' // the server rejected the SPNEGO exchange
  | 'KRB-NTLM-ONLY' // the server only speaks NTLM: Kerberos delegation cannot serve it
  | 'KRB-INVALID-ARGUMENT'; // bad input from the caller (principal syntax, options)

export type KerberosErrorDetails = {
  /** RFC 4120 error-code of a KRB-ERROR (e.g. 13 for KDC_ERR_BADOPTION). */
  krbCode?: number;
  /** Symbolic name of krbCode, e.g. 'KDC_ERR_BADOPTION'. */
  krbName?: string;
  /** Free text the KDC put in e-text (Windows and Heimdal often explain there). */
  eText?: string;
  /** Raw e-data of the KRB-ERROR, when present. */
  eData?: Uint8Array;
  /** Measured difference KDC time - local time, in milliseconds. */
  skewMs?: number;
  /** Which KDC answered, host:port. */
  kdc?: string;
  /** Free-form context that helps the operator (never secrets). */
  hint?: string;
  cause?: unknown;
};

export class KerberosError extends Error {
  readonly code: KerberosErrorCode;
  declare readonly krbCode?: number;
  declare readonly krbName?: string;
  declare readonly eText?: string;
  declare readonly eData?: Uint8Array;
  declare readonly skewMs?: number;
  declare readonly kdc?: string;
  declare readonly hint?: string;

  constructor(code: KerberosErrorCode, message: string, details: KerberosErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'KerberosError';
    this.code = code;
    if (details.krbCode !== undefined) {
      this.krbCode = details.krbCode;
      this.krbName = details.krbName ?? krbErrorName(details.krbCode);
    }
    if (details.eText !== undefined) this.eText = details.eText;
    if (details.eData !== undefined) this.eData = details.eData;
    if (details.skewMs !== undefined) this.skewMs = details.skewMs;
    if (details.kdc !== undefined) this.kdc = details.kdc;
    if (details.hint !== undefined) this.hint = details.hint;
  }
}

export function isKerberosError(err: unknown, code?: KerberosErrorCode): err is KerberosError {
  return err instanceof KerberosError && (code === undefined || err.code === code);
}
