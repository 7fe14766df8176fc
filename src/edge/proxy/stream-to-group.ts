import http2, {
  type ClientHttp2Stream,
  type ClientSessionRequestOptions,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { ERROR_HEADER } from '../../tunnel/protocol.ts';
import type { Logger } from '../../lib/log.ts';
import type { Tunnel, TunnelRegistry } from '../tunnel/registry.ts';

/**
 * The one way the edge opens a stream to an app's connector group. Plain requests, WebSocket upgrades, download
 * resumes, relays between edge nodes (and, later, TCP channels) differ only in what they do with the stream;
 * picking a tunnel, waiting for one, counting the stream in flight, classifying a failure and deciding a retry
 * happen here, once.
 *
 *   1. pick the least busy usable tunnel of the group that knows the app, avoiding connectors already tried;
 *   2. none, but one may come back (config not acknowledged yet after a move, ejected but alive): wait for it;
 *   2b. still none: a relay to a peer edge node holding usable tunnels of the group (edge/cluster/relay-peers.ts; the
 *      peer routes it with its own tunnels only, so one hop at most), and as a last resort an ejected local tunnel
 *      that is still open;
 *   3. open the stream (counted in flight by the tunnel until it closes);
 *   4. before the response head: an ejection, a lost tunnel, a refused stream or a target refusal is a failure;
 *      the request goes to another connector when that is safe — always if the connector never processed it
 *      (refused, not opened) and nothing of the request is used up yet, once more if it is idempotent.
 */

/** Why an attempt failed before a response: `refused` and `not-opened` never reached the connector's backend. */
export type FailReason = 'refused' | 'not-opened' | 'lost' | 'ejected';

/** With no usable tunnel but one that may come back soon. */
export const WAIT_FOR_TUNNEL_MS = 2_000;
/** A stream the connector never processed may be retried twice; one it may have processed, once. */
export const MAX_ATTEMPTS = 3;
export const IDEMPOTENT_ATTEMPTS = 2;
const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

/**
 * Resets a live connector sends that a request's content can cause (a header block over a limit, a refused
 * stream). They never count against the tunnel's health: nothing a client sends may eject a tunnel.
 */
const CLIENT_CAUSABLE = new Set([
  http2.constants.NGHTTP2_PROTOCOL_ERROR,
  http2.constants.NGHTTP2_FRAME_SIZE_ERROR,
  http2.constants.NGHTTP2_COMPRESSION_ERROR,
  http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
  NGHTTP2_REFUSED_STREAM,
]);

/** A stream's errors are reported through 'close' or by the caller after the response (shared: no closure). */
function reportedElsewhere(): void {}

export interface GroupStreamRequest {
  groupId: string;
  appId: string;
  headers: OutgoingHttpHeaders;
  options: ClientSessionRequestOptions;
  /** Sending it again after the connector may have processed it is safe (an idempotent method). */
  idempotent: boolean;
  /** Nothing of the request is used up yet (its body all kept or none sent, no answer started): it can be sent again. */
  resendable(): boolean;
  /** False once the client left or the request was aborted: no further attempt, no answer. */
  wanted(): boolean;
  /** Connectors used for this request so far, avoided while another can serve (a resume shares its request's). */
  tried?: Set<string>;
  correlationId: string;
  logger: Logger;
  /**
   * Only this node's own tunnels: set for a stream another edge node relayed here, so a request crosses at most one
   * relay hop. Otherwise, with no local tunnel that can serve, a peer node holding the group's tunnels takes it.
   */
  localOnly?: boolean;
}

export interface GroupStreamHandlers {
  /** A stream was opened (once per attempt): attach the request body here. */
  onOpen?(stream: ClientHttp2Stream, tunnel: Tunnel): void;
  /** An attempt's stream is abandoned before its response: detach the body from it. */
  onAbandon?(stream: ClientHttp2Stream): void;
  /** The response head arrived: the stream is the caller's from here. `retried` says why an earlier attempt failed. */
  onResponse(stream: ClientHttp2Stream, headers: IncomingHttpHeaders, tunnel: Tunnel, retried: FailReason | null): void;
  /** No stream could be had, or the failed one may not be sent again. */
  onFail(code: 'DB-TUNNEL-NO-CONNECTOR' | 'DB-TUNNEL-STREAM-FAILED'): void;
}

export function streamToGroup(
  registry: TunnelRegistry,
  request: GroupStreamRequest,
  handlers: GroupStreamHandlers,
): void {
  const { groupId, appId, logger, correlationId } = request;
  const tried = request.tried ?? new Set<string>();
  const startedAt = performance.now();
  let attempts = 0;
  let retried: FailReason | null = null;
  attempt();

  function attempt(): void {
    if (!request.wanted()) return;
    const tunnel = registry.pick(groupId, appId, tried);
    if (tunnel) return open(tunnel);
    if (!registry.mayRecover(groupId, appId)) {
      const peer = relay();
      if (peer) return open(peer);
      if (request.localOnly || !registry.mayRecover(groupId, appId, true)) return noTunnel();
    }
    registry.waitForTunnel(groupId, appId, WAIT_FOR_TUNNEL_MS, tried, !request.localOnly).then((found) => {
      if (!request.wanted()) return;
      // A healthy peer node beats a local tunnel that was ejected.
      const last = found ?? relay() ?? registry.pickEjected(groupId, appId);
      if (last) open(last);
      else noTunnel();
    }, noTunnel);
  }

  /** A peer edge node holding the group's tunnels (never for a stream already relayed here: one hop at most). */
  function relay(): Tunnel | undefined {
    return request.localOnly ? undefined : registry.pickRelay(groupId, tried);
  }

  function noTunnel(): void {
    if (!request.wanted()) return;
    logger.warn({ correlationId, appId, groupId, attempts, code: 'DB-TUNNEL-NO-CONNECTOR' }, 'no usable tunnel');
    handlers.onFail(attempts > 0 ? 'DB-TUNNEL-STREAM-FAILED' : 'DB-TUNNEL-NO-CONNECTOR');
  }

  function open(tunnel: Tunnel): void {
    attempts++;
    tried.add(tunnel.connectorId);
    tried.add(tunnel.processKey); // another worker of the same connector first, when it runs several
    let stream: ClientHttp2Stream;
    try {
      stream = registry.openStream(tunnel, request.headers, request.options);
    } catch (err) {
      logger.warn({ correlationId, tunnelId: tunnel.id, err: (err as Error).message }, 'tunnel refused a new stream');
      return failed(tunnel, 'not-opened');
    }
    const configAtPick = tunnel.configVersion;
    // Settled: answered, or given up on (the failure path has run): later events of this stream are ignored here.
    let settled = false;
    const giveUp = (reason: FailReason): void => {
      settled = true;
      handlers.onAbandon?.(stream);
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      failed(tunnel, reason);
    };
    // An ejection (a stalled connector) fails over a stream still waiting for its response head.
    const stopAwaiting = tunnel.awaitResponse(() => {
      if (!settled) giveUp('ejected');
    });
    stream.on('error', reportedElsewhere);
    handlers.onOpen?.(stream, tunnel);

    stream.once('response', (headers: IncomingHttpHeaders) => {
      if (settled) return;
      stopAwaiting();
      tunnel.health.streamSucceeded();
      if (headers[ERROR_HEADER] === 'DB-CONNECTOR-TARGET-REFUSED') {
        // The connector applied a config without this app (the app or the connector just moved) before the edge saw
        // its acknowledgement. Nothing reached a backend: another connector that has the app takes it.
        tunnel.forgetApp(appId, configAtPick);
        return giveUp('refused');
      }
      if (tunnel.relay && headers[ERROR_HEADER] === 'DB-TUNNEL-NO-CONNECTOR') {
        // The peer holds no tunnel of the group after all (its presence was a heartbeat old): nothing reached a
        // backend, so another candidate takes it.
        registry.forgetRelay(tunnel, groupId);
        return giveUp('refused');
      }
      settled = true;
      // The stream is the caller's now: this attempt's scope (the request, its headers, the handlers) need not live
      // as long as the stream does, hours for a WebSocket.
      stream.removeListener('close', onClose);
      handlers.onResponse(stream, headers, tunnel, retried);
    });
    stream.on('close', onClose);
    function onClose(): void {
      stopAwaiting();
      if (settled) return;
      // The edge cancelled it (the client hung up, or its body broke or stalled): nothing the connector did, so it
      // never counts against the tunnel; a dozen clients hanging up would otherwise eject every tunnel.
      if (!request.wanted()) {
        settled = true;
        handlers.onAbandon?.(stream);
        return;
      }
      // The tunnel died, the connector refused the stream (it sent GOAWAY: an older connector, or one closing), or reset
      // it, before answering.
      const refused = stream.rstCode === NGHTTP2_REFUSED_STREAM;
      if (!refused && tunnel.open && !CLIENT_CAUSABLE.has(stream.rstCode)) tunnel.health.streamFailed();
      giveUp(refused ? 'refused' : 'lost');
    }
  }

  function failed(tunnel: Tunnel, reason: FailReason): void {
    if (!request.wanted()) return;
    const neverReached = reason === 'refused' || reason === 'not-opened';
    const retry =
      request.resendable() &&
      attempts < MAX_ATTEMPTS &&
      (neverReached || (request.idempotent && attempts < IDEMPOTENT_ATTEMPTS));
    const detail = {
      correlationId,
      appId,
      tunnelId: tunnel.id,
      connectorId: tunnel.connectorId,
      reason,
      attempts,
      elapsedMs: Math.round(performance.now() - startedAt),
    };
    if (retry) {
      retried = reason;
      logger.warn(detail, 'stream failed before a response: retrying on another connector');
      return attempt();
    }
    logger.warn({ ...detail, code: 'DB-TUNNEL-STREAM-FAILED' }, 'stream failed before a response: not retried');
    handlers.onFail('DB-TUNNEL-STREAM-FAILED');
  }
}
