// What a successful AS or TGS exchange gives us: a ticket and its session key.
import type { Principal } from './asn1/principal.ts';
import type { Ticket } from './asn1/ticket.ts';
import type { EncryptionKey } from './asn1/types.ts';

export type Credential = {
  /** The client the ticket names (for S4U tickets: the impersonated user). */
  client: Principal;
  /** The service the ticket is for. */
  server: Principal;
  ticket: Ticket;
  sessionKey: EncryptionKey;
  /** TicketFlags bits (see TicketFlags). */
  flags: number;
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
};

/** A clock in milliseconds since the epoch; injectable for tests. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/** KerberosTime has whole seconds; the microseconds travel beside it (cusec). */
export function splitTime(ms: number): { time: Date; usec: number } {
  const whole = Math.floor(ms / 1000) * 1000;
  return { time: new Date(whole), usec: (ms - whole) * 1000 };
}

/** 31-bit nonce: some KDCs (old Windows) mishandle the top bit. */
export function randomNonce(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0] & 0x7fffffff;
}
