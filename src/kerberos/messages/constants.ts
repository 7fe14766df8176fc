// Protocol numbers from RFC 4120, RFC 6113 and MS-SFU / MS-KILE.
import { flagBit } from '../asn1/der.ts';

export const MsgType = {
  AS_REQ: 10,
  AS_REP: 11,
  TGS_REQ: 12,
  TGS_REP: 13,
  AP_REQ: 14,
  AP_REP: 15,
  KRB_ERROR: 30,
} as const;

export const PaType = {
  TGS_REQ: 1,
  ENC_TIMESTAMP: 2,
  PW_SALT: 3,
  ETYPE_INFO: 11,
  PK_AS_REQ: 16,
  ETYPE_INFO2: 19,
  PAC_REQUEST: 128,
  FOR_USER: 129,
  S4U_X509_USER: 130,
  FX_FAST: 136,
  ENCRYPTED_CHALLENGE: 138,
  PAC_OPTIONS: 167,
} as const;

/** KDCOptions bits (RFC 4120 5.4.1); values are masks for a 32-bit KerberosFlags. */
export const KdcOptions = {
  FORWARDABLE: flagBit(1),
  FORWARDED: flagBit(2),
  PROXIABLE: flagBit(3),
  PROXY: flagBit(4),
  RENEWABLE: flagBit(8),
  /** MS-SFU "cname-in-addl-tkt" (constrained delegation, S4U2Proxy). */
  CNAME_IN_ADDL_TKT: flagBit(14),
  CANONICALIZE: flagBit(15),
  RENEWABLE_OK: flagBit(27),
  ENC_TKT_IN_SKEY: flagBit(28),
  RENEW: flagBit(30),
  VALIDATE: flagBit(31),
} as const;

/** TicketFlags bits (RFC 4120 5.3). */
export const TicketFlags = {
  FORWARDABLE: flagBit(1),
  FORWARDED: flagBit(2),
  PROXIABLE: flagBit(3),
  PROXY: flagBit(4),
  RENEWABLE: flagBit(8),
  INITIAL: flagBit(9),
  PRE_AUTHENT: flagBit(10),
  HW_AUTHENT: flagBit(11),
  TRANSITED_POLICY_CHECKED: flagBit(12),
  OK_AS_DELEGATE: flagBit(13),
  ENC_PA_REP: flagBit(15),
  ANONYMOUS: flagBit(16),
} as const;

/** APOptions bits (RFC 4120 5.5.1). */
export const ApOptions = {
  USE_SESSION_KEY: flagBit(1),
  MUTUAL_REQUIRED: flagBit(2),
} as const;

/** PAC-OPTIONS bits (MS-KILE 2.2.10). */
export const PacOptions = {
  CLAIMS: flagBit(0),
  BRANCH_AWARE: flagBit(1),
  FORWARD_TO_FULL_DC: flagBit(2),
  RESOURCE_BASED_CONSTRAINED_DELEGATION: flagBit(3),
} as const;

export function ticketFlagNames(f: number): string[] {
  return Object.entries(TicketFlags)
    .filter(([, bit]) => (f & bit) >>> 0 === bit)
    .map(([name]) => name.toLowerCase().replaceAll('_', '-'));
}
