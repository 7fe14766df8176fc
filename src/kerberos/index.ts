// Public surface of the Kerberos library. Everything else is internal.

// The client a proxy uses
export { KerberosClient } from './client.ts';
export type { KerberosClientOptions, NegotiateResult } from './client.ts';
export type { Clock, Credential } from './credential.ts';
export { CredentialCache } from './cache.ts';
export type { CacheOptions } from './cache.ts';
export { isForwardable } from './s4u.ts';
export type { S4uPadataMode } from './s4u.ts';

// Errors and diagnostics
export { KerberosError, isKerberosError } from './errors.ts';
export type { KerberosErrorCode, KerberosErrorDetails } from './errors.ts';
export { KrbErrorCodes, krbErrorName } from './krb-error-codes.ts';
export type { KrbErrorName } from './krb-error-codes.ts';
export { Channels } from './events.ts';

// Keytabs, KDC transport, names
export { Keytab, parseKeytab, serializeKeytab } from './keytab.ts';
export type { KeySelector, KeytabEntry } from './keytab.ts';
export { parseKdcAddress, sendToKdc } from './transport.ts';
export type { KdcAddress, KdcExchange, TransportOptions } from './transport.ts';
export { formatPrincipal, NameType, parsePrincipal } from './asn1/principal.ts';
export type { Principal, PrincipalName } from './asn1/principal.ts';
export { KdcOptions, TicketFlags, ticketFlagNames } from './messages/constants.ts';

// HTTP Negotiate
export {
  apRepFromNegotiateReply,
  classifyWwwAuthenticate,
  decodeNegTokenInit,
  decodeNegTokenResp,
  encodeNegTokenResp,
  isNtlmToken,
  NegState,
  negotiateHeaderValue,
  negotiateToken,
  parseWwwAuthenticate,
  spnegoInitToken,
  STANDARD_MECH_TYPES,
  WINDOWS_MECH_TYPES,
} from './spnego.ts';
export type { BackendAuth, Challenge, NegTokenInit, NegTokenResp } from './spnego.ts';
export { KrbTokId, Oids, unwrapKrb5Token, wrapKrb5Token } from './gss-token.ts';

// Lower-level building blocks (exchanges, AP-REQ/AP-REP, crypto)
export { requestTgt } from './as-exchange.ts';
export type { AsRequestOptions, KdcSend } from './as-exchange.ts';
export { tgsExchange } from './tgs-exchange.ts';
export type { TgsRequestOptions, TgsResult } from './tgs-exchange.ts';
export { s4u2proxy, s4u2self } from './s4u.ts';
export { GssFlags, gssChecksum, makeApReq, verifyApRep } from './ap-exchange.ts';
export { keytabKeySource, passwordKeySource } from './key-source.ts';
export type { KeySource } from './key-source.ts';
export { getEnctype, isSupportedEnctype, SUPPORTED_ENCTYPES } from './crypto/registry.ts';
export { ChecksumType, EncType } from './crypto/enctype.ts';
export type { Enctype } from './crypto/enctype.ts';
export { KeyUsage } from './crypto/key-usage.ts';
