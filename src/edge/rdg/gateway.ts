/**
 * One RD Gateway tunnel, server side ([MS-TSGU] 3.3.5, HTTP transport), independent of how packets travel
 * (WebSocket frames or the legacy RDG_IN_DATA / RDG_OUT_DATA pair):
 *
 *   handshake → tunnel create (the PAA cookie: our gateway access token) → tunnel authorisation → channel create
 *   (the resource must be the app's own host:port) → data packets both ways → close channel.
 *
 * Every step out of order, or any failure, answers the packet's response with a failure HRESULT and ends the tunnel.
 */
import type { Duplex } from 'node:stream';
import {
  CAPABILITY,
  EXTENDED_AUTH,
  HRESULT,
  PacketReader,
  REDIR_ENABLE_ALL,
  RdgProtocolError,
  channelResponse,
  closeChannel,
  closeChannelResponse,
  dataPackets,
  decodePacket,
  handshakeResponse,
  tunnelAuthResponse,
  tunnelResponse,
  type ClientPacket,
} from './codec.ts';
import { sameTarget, type RdpTarget } from '../../tunnel/rdp.ts';

/** How a gateway session authorises and reaches its target; `reason` strings go to the log, never to the client. */
export interface GatewayHooks {
  /** The client's PAA cookie (null: none sent). */
  authorise(token: string | null): Promise<{ ok: true; target: RdpTarget } | { ok: false; reason: string }>;
  /** Opens the byte stream to the authorised target (through a connector). */
  openChannel(target: RdpTarget): Promise<Duplex | { error: string }>;
  /** The tunnel ended: why, and how many RDP bytes went each way. */
  onEnd(summary: GatewaySummary): void;
  /** Each step, for the log. */
  onStep?(step: string, detail?: Record<string, unknown>): void;
}

export interface GatewaySummary {
  outcome: 'closed' | 'refused' | 'failed';
  reason: string;
  bytesToTarget: number;
  bytesFromTarget: number;
  /** Set once a channel opened. */
  channelOpenedAt: number | null;
  clientName: string | null;
  /** For a refusal the session decided itself (no token offered, another resource): its catalogue code. */
  code: 'DB-RDG-TOKEN-INVALID' | 'DB-RDG-RESOURCE-REFUSED' | null;
}

/** How packets leave: one transport per tunnel. `write` returns false when the client reads slower than we send. */
export interface PacketTransport {
  write(packet: Buffer): boolean;
  onDrain(listener: () => void): void;
  /** Stop / restart reading the client (backpressure from the target). */
  pause(): void;
  resume(): void;
  close(): void;
}

type State =
  | 'handshake'
  | 'tunnel-create'
  | 'authorising'
  | 'tunnel-auth'
  | 'channel-create'
  | 'opening'
  | 'open'
  | 'closed';

/** Idle timeout (minutes) the tunnel authorisation response announces: 0, the client may stay idle. */
const IDLE_TIMEOUT_MINUTES = 0;

export class GatewaySession {
  readonly #hooks: GatewayHooks;
  readonly #transport: PacketTransport;
  readonly #reader = new PacketReader();
  #state: State = 'handshake';
  #target: RdpTarget | null = null;
  #channel: Duplex | null = null;
  #summary: GatewaySummary = {
    outcome: 'closed',
    reason: 'client closed',
    bytesToTarget: 0,
    bytesFromTarget: 0,
    channelOpenedAt: null,
    clientName: null,
    code: null,
  };
  #ended = false;
  /** Packets that arrived while an asynchronous step (authorisation, channel opening) was pending. */
  #queue: ClientPacket[] = [];
  static #nextId = 1;
  readonly #id = GatewaySession.#nextId++ >>> 0;

  constructor(transport: PacketTransport, hooks: GatewayHooks) {
    this.#transport = transport;
    this.#hooks = hooks;
  }

  get state(): string {
    return this.#state;
  }

  /** Bytes of the packet stream from the client, as they arrive. */
  receive(chunk: Buffer): void {
    if (this.#state === 'closed') return;
    let packets: Buffer[];
    try {
      packets = this.#reader.push(chunk);
    } catch (err) {
      return this.#fail('failed', `protocol error: ${(err as Error).message}`);
    }
    for (const raw of packets) {
      let packet: ClientPacket;
      try {
        packet = decodePacket(raw);
      } catch (err) {
        return this.#fail('failed', `protocol error: ${(err as RdgProtocolError).message}`);
      }
      if (this.#state === 'authorising' || this.#state === 'opening') this.#queue.push(packet);
      else this.#handle(packet);
      if (this.#ended) return;
    }
  }

  /** The client's transport is gone. */
  clientClosed(): void {
    this.#finish(this.#state === 'open' ? 'closed' : 'failed', 'client closed');
  }

  /** Ends the tunnel from our side (continuous access evaluation): the client is told the channel closes. */
  terminate(reason: string): void {
    if (this.#state === 'open') this.#transport.write(closeChannel(HRESULT.E_PROXY_RAP_ACCESSDENIED));
    this.#fail('refused', reason);
  }

  #handle(packet: ClientPacket): void {
    const step = (s: string, d?: Record<string, unknown>) => this.#hooks.onStep?.(s, d);
    switch (packet.type) {
      case 'handshake':
        if (this.#state !== 'handshake') return this.#fail('failed', 'handshake out of order');
        step('handshake', {
          extendedAuth: packet.extendedAuth,
          version: `${packet.versionMajor}.${packet.versionMinor}`,
        });
        if (!(packet.extendedAuth & EXTENDED_AUTH.PAA)) {
          this.#transport.write(
            handshakeResponse(HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED, EXTENDED_AUTH.PAA),
          );
          this.#summary.code = 'DB-RDG-TOKEN-INVALID';
          return this.#fail(
            'refused',
            `the client offers no gateway access token (extended authentication ${packet.extendedAuth})`,
          );
        }
        // Only our access token (PAA) authenticates: the answer says so whatever the client offered.
        this.#transport.write(handshakeResponse(HRESULT.OK, EXTENDED_AUTH.PAA));
        this.#state = 'tunnel-create';
        return;
      case 'tunnel-create':
        if (this.#state !== 'tunnel-create') return this.#fail('failed', 'tunnel create out of order');
        this.#state = 'authorising';
        this.#hooks.authorise(packet.paaCookie).then(
          (verdict) => {
            if (this.#state === 'closed') return;
            if (!verdict.ok) {
              this.#transport.write(tunnelResponse(HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED, 0, 0));
              return this.#fail('refused', verdict.reason);
            }
            this.#target = verdict.target;
            step('tunnel authorised');
            this.#transport.write(tunnelResponse(HRESULT.OK, this.#id, CAPABILITY.IDLE_TIMEOUT));
            this.#state = 'tunnel-auth';
            this.#drainQueue();
          },
          (err: Error) => {
            this.#transport.write(tunnelResponse(HRESULT.E_PROXY_INTERNALERROR, 0, 0));
            this.#fail('failed', `authorisation failed: ${err.message}`);
          },
        );
        return;
      case 'tunnel-auth':
        if (this.#state !== 'tunnel-auth') return this.#fail('failed', 'tunnel authorisation out of order');
        this.#summary.clientName = packet.clientName.slice(0, 256);
        this.#transport.write(tunnelAuthResponse(HRESULT.OK, REDIR_ENABLE_ALL, IDLE_TIMEOUT_MINUTES));
        this.#state = 'channel-create';
        return;
      case 'channel-create':
        return this.#channelCreate(packet);
      case 'data':
        if (this.#state !== 'open' || !this.#channel) return this.#fail('failed', 'data before the channel opened');
        this.#summary.bytesToTarget += packet.data.length;
        if (!this.#channel.write(packet.data)) {
          this.#transport.pause();
          this.#channel.once('drain', () => this.#transport.resume());
        }
        return;
      case 'keepalive':
        return;
      case 'close-channel':
        this.#transport.write(closeChannelResponse(HRESULT.OK));
        return this.#finish('closed', 'client closed the channel');
      case 'close-channel-response':
        return this.#finish('closed', this.#summary.reason);
      case 'other':
        // Service, re-authentication and extended-auth messages: nothing we offered; ignored like unknown packets.
        step('ignored packet', { packetType: packet.packetType });
        return;
    }
  }

  #channelCreate(packet: Extract<ClientPacket, { type: 'channel-create' }>): void {
    if (this.#state !== 'channel-create' || !this.#target) return this.#fail('failed', 'channel create out of order');
    const wanted = { host: packet.resources[0] ?? '', port: packet.port };
    // Resource authorisation: the one host:port of the app, as the client named it (no alternatives, no other port).
    if (packet.resources.length !== 1 || !sameTarget(wanted, this.#target)) {
      this.#transport.write(channelResponse(HRESULT.E_PROXY_RAP_ACCESSDENIED, 0));
      this.#summary.code = 'DB-RDG-RESOURCE-REFUSED';
      return this.#fail('refused', `resource ${packet.resources.join(',')}:${packet.port} is not the app's target`);
    }
    this.#state = 'opening';
    this.#hooks.openChannel(this.#target).then(
      (channel) => {
        if (this.#state === 'closed') {
          if (!('error' in channel)) channel.destroy();
          return;
        }
        if ('error' in channel) {
          this.#transport.write(channelResponse(HRESULT.E_PROXY_INTERNALERROR, 0));
          return this.#fail('failed', channel.error);
        }
        this.#channel = channel;
        this.#summary.channelOpenedAt = Date.now();
        this.#transport.write(channelResponse(HRESULT.OK, this.#id));
        this.#state = 'open';
        this.#hooks.onStep?.('channel open');
        channel.on('data', (chunk: Buffer) => {
          this.#summary.bytesFromTarget += chunk.length;
          let ok = true;
          for (const p of dataPackets(chunk)) ok = this.#transport.write(p) && ok;
          if (!ok) {
            channel.pause();
            this.#transport.onDrain(() => channel.resume());
          }
        });
        channel.on('error', () => {});
        channel.once('close', () => {
          if (this.#state !== 'open') return;
          // The RDP host (or the connector) closed: tell the client the channel is over.
          this.#transport.write(closeChannel(HRESULT.OK));
          this.#finish('closed', 'target closed');
        });
        this.#drainQueue();
      },
      (err: Error) => this.#fail('failed', `channel failed: ${err.message}`),
    );
  }

  #drainQueue(): void {
    while (
      this.#queue.length > 0 &&
      this.#state !== 'authorising' &&
      this.#state !== 'opening' &&
      this.#state !== 'closed'
    ) {
      this.#handle(this.#queue.shift() as ClientPacket);
    }
  }

  #fail(outcome: GatewaySummary['outcome'], reason: string): void {
    this.#finish(outcome, reason);
  }

  #finish(outcome: GatewaySummary['outcome'], reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#state = 'closed';
    this.#summary.outcome = outcome;
    this.#summary.reason = reason;
    this.#channel?.destroy();
    this.#transport.close();
    this.#hooks.onEnd({ ...this.#summary });
  }
}
