// KDC transport (RFC 4120 7.2): UDP datagrams, or TCP with a 4-byte big-endian
// length prefix. Walks the KDC list in order; retries a KDC over TCP when it
// answers KRB_ERR_RESPONSE_TOO_BIG over UDP. AD tickets carry a PAC and rarely
// fit a datagram, hence `preferTcp` (MIT's udp_preference_limit = 1).
import { createSocket } from 'node:dgram';
import { connect, isIPv6 } from 'node:net';
import { KerberosError } from './errors.ts';
import { Channels, publish } from './events.ts';
import { KrbErrorCodes } from './krb-error-codes.ts';
import { decodeKrbError } from './messages/krb-error.ts';

export type KdcAddress = { host: string; port: number };

export type TransportOptions = {
  /** "host", "host:port", "[v6addr]:port" or objects; tried in order. */
  kdcs: readonly (string | KdcAddress)[];
  /** Per attempt, per KDC. Default 3000 ms. */
  timeoutMs?: number;
  /** Use TCP first (recommended for Active Directory). Default false. */
  preferTcp?: boolean;
  /** Requests larger than this go over TCP directly (MIT default 1465). */
  udpPreferenceLimit?: number;
  /** Largest reply accepted over TCP. Default 16 MiB. */
  maxReplyBytes?: number;
  signal?: AbortSignal;
};

export type KdcExchange = { reply: Uint8Array; kdc: string; transport: 'udp' | 'tcp' };

export function parseKdcAddress(a: string | KdcAddress): KdcAddress {
  if (typeof a !== 'string') return a;
  const s = a.trim().replace(/^(udp|tcp|kerberos):\/\//, '');
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1], port: v6[2] ? Number(v6[2]) : 88 };
  const parts = s.split(':');
  if (parts.length === 2 && /^\d+$/.test(parts[1])) return { host: parts[0], port: Number(parts[1]) };
  if (parts.length === 1 && parts[0]) return { host: parts[0], port: 88 };
  if (isIPv6(s)) return { host: s, port: 88 };
  throw new KerberosError('KRB-INVALID-ARGUMENT', `invalid KDC address "${a}"`);
}

function label(k: KdcAddress): string {
  return isIPv6(k.host) ? `[${k.host}]:${k.port}` : `${k.host}:${k.port}`;
}

/** True when `reply` is a KRB-ERROR saying the answer does not fit UDP. */
export function isResponseTooBig(reply: Uint8Array): boolean {
  if (reply[0] !== 0x7e) return false; // [APPLICATION 30] constructed
  try {
    return decodeKrbError(reply).errorCode === KrbErrorCodes.KRB_ERR_RESPONSE_TOO_BIG;
  } catch {
    return false;
  }
}

/**
 * One KDC exchange settles once: the first of reply, socket error, timeout or abort wins, and the socket is closed.
 * Returns the `finish(err, reply)` the socket handlers call.
 */
function settleOnce(
  resolve: (reply: Uint8Array) => void,
  reject: (err: Error) => void,
  timeoutMessage: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  close: () => void,
): (err: Error | null, reply?: Uint8Array) => void {
  let done = false;
  const finish = (err: Error | null, reply?: Uint8Array): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    close();
    if (err) reject(err);
    else resolve(reply!);
  };
  const onAbort = (): void => finish(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
  const timer = setTimeout(() => finish(new Error(timeoutMessage)), timeoutMs);
  signal?.addEventListener('abort', onAbort, { once: true });
  return finish;
}

export function sendUdp(
  kdc: KdcAddress,
  request: Uint8Array,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(kdc.host) ? 'udp6' : 'udp4');
    const finish = settleOnce(resolve, reject, `no UDP reply within ${timeoutMs} ms`, timeoutMs, signal, () =>
      sock.close(),
    );
    sock.on('error', (e) => finish(e));
    sock.on('message', (msg) => finish(null, new Uint8Array(msg)));
    sock.send(request, kdc.port, kdc.host, (e) => e && finish(e));
  });
}

export function sendTcp(
  kdc: KdcAddress,
  request: Uint8Array,
  timeoutMs: number,
  maxReplyBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: kdc.host, port: kdc.port });
    const chunks: Buffer[] = [];
    let have = 0;
    let want = -1;
    const finish = settleOnce(resolve, reject, `no TCP reply within ${timeoutMs} ms`, timeoutMs, signal, () =>
      sock.destroy(),
    );
    sock.on('error', (e) => finish(e));
    sock.on('connect', () => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(request.length);
      sock.write(Buffer.concat([len, request]));
    });
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      have += d.length;
      if (want < 0 && have >= 4) {
        const head = Buffer.concat(chunks);
        const n = head.readUInt32BE(0);
        // The top bit is reserved for extensions (RFC 5021); we never ask for any.
        if (n & 0x80000000 || n > maxReplyBytes) return finish(new Error(`bad TCP length prefix ${n}`));
        want = n + 4;
      }
      if (want >= 0 && have >= want) finish(null, new Uint8Array(Buffer.concat(chunks).subarray(4, want)));
    });
    sock.on('end', () => finish(new Error('KDC closed the TCP connection before a full reply')));
  });
}

/** Send one KDC request; returns the first answer (a KRB-ERROR is an answer). */
export async function sendToKdc(request: Uint8Array, opts: TransportOptions): Promise<KdcExchange> {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const limit = opts.udpPreferenceLimit ?? 1465;
  const maxReply = opts.maxReplyBytes ?? 16 * 1024 * 1024;
  const kdcs = opts.kdcs.map(parseKdcAddress);
  if (kdcs.length === 0) throw new KerberosError('KRB-INVALID-ARGUMENT', 'no KDC configured');
  const failures: string[] = [];
  const msgType = request[0] & 0x1f;
  for (const kdc of kdcs) {
    const name = label(kdc);
    let transport: 'udp' | 'tcp' = opts.preferTcp || request.length > limit ? 'tcp' : 'udp';
    for (;;) {
      opts.signal?.throwIfAborted();
      const started = performance.now();
      publish(Channels.kdcRequest, { kdc: name, transport, bytes: request.length, msgType });
      try {
        const reply =
          transport === 'udp'
            ? await sendUdp(kdc, request, timeoutMs, opts.signal)
            : await sendTcp(kdc, request, timeoutMs, maxReply, opts.signal);
        publish(Channels.kdcReply, { kdc: name, transport, bytes: reply.length, ms: performance.now() - started });
        if (transport === 'udp' && isResponseTooBig(reply)) {
          transport = 'tcp';
          continue;
        }
        return { reply, kdc: name, transport };
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        const message = err instanceof Error ? err.message : String(err);
        publish(Channels.kdcFailure, { kdc: name, transport, error: message });
        failures.push(`${name}/${transport}: ${message}`);
        break;
      }
    }
  }
  throw new KerberosError('KRB-KDC-UNREACHABLE', `no KDC answered (${kdcs.map(label).join(', ')})`, {
    hint: failures.join('; '),
  });
}
