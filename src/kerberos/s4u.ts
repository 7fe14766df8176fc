// Service for User (MS-SFU): S4U2Self gets a ticket *to ourselves* for a user
// who never gave us a password (protocol transition); S4U2Proxy trades that
// "evidence" ticket for a ticket to another service (constrained delegation).
import { type Principal, formatPrincipal } from './asn1/principal.ts';
import type { PaData } from './asn1/types.ts';
import type { KdcSend } from './as-exchange.ts';
import type { Clock, Credential } from './credential.ts';
import { getEnctype } from './crypto/registry.ts';
import { KerberosError } from './errors.ts';
import { Channels, publish } from './events.ts';
import { KrbErrorCodes } from './krb-error-codes.ts';
import { KdcOptions, PacOptions, PaType, TicketFlags } from './messages/constants.ts';
import { encodePaForUser, makePaForUser } from './messages/pa-for-user.ts';
import { encodePaPacOptions } from './messages/pa-pac-options.ts';
import { makePaS4uX509User, S4uOptions } from './messages/pa-s4u-x509-user.ts';
import { tgsExchange } from './tgs-exchange.ts';

/** Which S4U2Self padata to send: PA-FOR-USER (all KDCs), PA-S4U-X509-USER (2008+), or both as Windows does. */
export type S4uPadataMode = 'for-user' | 'x509-user' | 'both';

type Common = { tgt: Credential; etypes: number[]; send: KdcSend; clock: Clock; lifetimeMs: number; maxSkewMs: number };

export function isForwardable(c: Credential): boolean {
  return (c.flags & TicketFlags.FORWARDABLE) >>> 0 === TicketFlags.FORWARDABLE;
}

export async function s4u2self(
  o: Common & { self: Principal; user: Principal; mode?: S4uPadataMode },
): Promise<Credential> {
  const mode = o.mode ?? 'for-user';
  const sk = o.tgt.sessionKey;
  const who = formatPrincipal(o.user.name, o.user.realm);
  const padata = (nonce: number): PaData[] => {
    const out: PaData[] = [];
    if (mode !== 'x509-user')
      out.push({
        type: PaType.FOR_USER,
        value: encodePaForUser(makePaForUser(sk.keyvalue, o.user.name, o.user.realm)),
      });
    if (mode !== 'for-user') {
      const { bytes } = makePaS4uX509User(getEnctype(sk.keytype), sk.keyvalue, {
        nonce,
        cname: o.user.name,
        crealm: o.user.realm,
        options: S4uOptions.USE_REPLY_KEY_USAGE,
      });
      out.push({ type: PaType.S4U_X509_USER, value: bytes });
    }
    return out;
  };
  const { credential, kdc } = await tgsExchange({
    ...o,
    server: o.self,
    kdcOptions: KdcOptions.FORWARDABLE | KdcOptions.CANONICALIZE,
    padata,
    hint: (e) => {
      switch (e.errorCode) {
        case KrbErrorCodes.KDC_ERR_C_PRINCIPAL_UNKNOWN:
          return `user ${who} does not exist in the directory`;
        case KrbErrorCodes.KDC_ERR_POLICY:
        case KrbErrorCodes.KDC_ERR_CLIENT_REVOKED:
          return `user ${who} may not log on (account disabled, locked, expired or outside logon hours)`;
        case KrbErrorCodes.KDC_ERR_S_PRINCIPAL_UNKNOWN:
          return `the KDC does not know our own principal ${formatPrincipal(o.self.name, o.self.realm)} as a service (does the account have an SPN?)`;
        default:
          return undefined;
      }
    },
  });
  const got = formatPrincipal(credential.client.name, credential.client.realm);
  if (credential.client.name.components.join('/').toLowerCase() !== o.user.name.components.join('/').toLowerCase()) {
    throw new KerberosError('KRB-RESPONSE-MISMATCH', `S4U2Self returned a ticket for ${got}, not ${who}`, {
      kdc,
      hint:
        mode === 'x509-user'
          ? 'the KDC ignored PA-S4U-X509-USER (Samba/Heimdal does); use s4uPadata "for-user" or "both"'
          : 'the KDC ignored the S4U2Self padata',
    });
  }
  publish(Channels.ticket, {
    kind: 's4u2self',
    client: got,
    server: formatPrincipal(credential.server.name, credential.server.realm),
    endtime: credential.endtime,
    flags: credential.flags,
    kdc,
  });
  return credential;
}

export async function s4u2proxy(
  o: Common & { evidence: Credential; target: Principal; rbcd?: boolean },
): Promise<Credential> {
  const spn = formatPrincipal(o.target.name, o.target.realm);
  const user = formatPrincipal(o.evidence.client.name, o.evidence.client.realm);
  const rbcd = o.rbcd ?? true;
  const { credential, kdc } = await tgsExchange({
    ...o,
    server: o.target,
    kdcOptions: KdcOptions.FORWARDABLE | KdcOptions.CNAME_IN_ADDL_TKT | KdcOptions.CANONICALIZE,
    additionalTickets: [o.evidence.ticket],
    padata: () =>
      rbcd
        ? [{ type: PaType.PAC_OPTIONS, value: encodePaPacOptions(PacOptions.RESOURCE_BASED_CONSTRAINED_DELEGATION) }]
        : [],
    hint: (e) => {
      switch (e.errorCode) {
        case KrbErrorCodes.KDC_ERR_BADOPTION:
          return isForwardable(o.evidence)
            ? `the service account may not delegate to ${spn}: add it to msDS-AllowedToDelegateTo, or allow us on the target by resource-based delegation`
            : `the S4U2Self ticket for ${user} is not forwardable: either protocol transition is off for the service account ("use Kerberos only" instead of "use any authentication protocol") or ${user} is "sensitive and cannot be delegated" / in Protected Users`;
        case KrbErrorCodes.KDC_ERR_S_PRINCIPAL_UNKNOWN:
          return `no account has the SPN ${spn} (register it with setspn / msDS-ServicePrincipalName)`;
        case KrbErrorCodes.KDC_ERR_POLICY:
        case KrbErrorCodes.KDC_ERR_CLIENT_REVOKED:
          return `user ${user} may not log on (account disabled or restricted)`;
        case KrbErrorCodes.KDC_ERR_ETYPE_NOSUPP:
          return `the account of ${spn} has no AES keys: set msDS-SupportedEncryptionTypes to 24 and reset its password`;
        default:
          return undefined;
      }
    },
  });
  publish(Channels.ticket, {
    kind: 's4u2proxy',
    client: formatPrincipal(credential.client.name, credential.client.realm),
    server: spn,
    endtime: credential.endtime,
    flags: credential.flags,
    kdc,
  });
  return credential;
}
