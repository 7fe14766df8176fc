// The library logs nothing. It publishes on these diagnostics channels and the
// application decides what to log. Messages never contain keys or tickets.
import { channel } from 'node:diagnostics_channel';

export const Channels = {
  /** { kdc, transport: 'udp'|'tcp', bytes, msgType } before a request is sent */
  kdcRequest: channel('kerberos:kdc:request'),
  /** { kdc, transport, bytes, ms } when a KDC answered (a KRB-ERROR is an answer too) */
  kdcReply: channel('kerberos:kdc:reply'),
  /** { kdc, transport, error } when a KDC did not answer (timeout, refused, reset) */
  kdcFailure: channel('kerberos:kdc:failure'),
  /** { kdc, krbCode, krbName, eText } for every KRB-ERROR received */
  krbError: channel('kerberos:kdc:krb-error'),
  /** { kind: 'tgt'|'s4u2self'|'s4u2proxy'|'service', client, server, endtime, flags } */
  ticket: channel('kerberos:ticket'),
  /** { key, hit: boolean } ticket cache lookups */
  cache: channel('kerberos:cache'),
} as const;

export function publish(ch: (typeof Channels)[keyof typeof Channels], message: object): void {
  if (ch.hasSubscribers) ch.publish(message);
}
