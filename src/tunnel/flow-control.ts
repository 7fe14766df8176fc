import type { Http2Session, Settings } from 'node:http2';

/**
 * Flow-control windows decide throughput over a real link. Measured by `npm run bench -- --only=wan` (one 256 MiB
 * download, 20 ms round trip between connector and edge): 64 KiB windows (HTTP/2's default) 2 MB/s; 4 MiB stream /
 * 16 MiB connection 77 MB/s; 8/32 MiB 91 MB/s; 16/64 MiB 105 MB/s. The connection window does not bound what slow
 * clients make the edge buffer: Node returns it as data arrives, whatever the stream's reader takes; the receive
 * budget below does. maxSessionMemory sits above the windows so buffered data never makes a tunnel refuse streams.
 */
export const DEFAULT_STREAM_WINDOW_BYTES = 16 * 1024 * 1024;
export const DEFAULT_CONNECTION_WINDOW_BYTES = 64 * 1024 * 1024;
export const STREAM_WINDOW_BYTES = windowFromEnv('DRAWBRIDGE_TUNNEL_STREAM_WINDOW', DEFAULT_STREAM_WINDOW_BYTES);
export const CONNECTION_WINDOW_BYTES = windowFromEnv(
  'DRAWBRIDGE_TUNNEL_CONNECTION_WINDOW',
  DEFAULT_CONNECTION_WINDOW_BYTES,
);

/**
 * Unread response data the edge holds for slow clients, summed over its tunnel streams, before it lowers the windows
 * of the tunnels holding it to BRAKE_STREAM_WINDOW_BYTES (edge/tunnel/receive-budget.ts). New streams then start
 * from 1 MiB: still 50 MB/s over a 20 ms round trip.
 */
export const DEFAULT_RECEIVE_BUDGET_BYTES = 256 * 1024 * 1024;
export const RECEIVE_BUDGET_BYTES = windowFromEnv('DRAWBRIDGE_EDGE_RECEIVE_BUDGET', DEFAULT_RECEIVE_BUDGET_BYTES);
export const BRAKE_STREAM_WINDOW_BYTES = Math.min(1024 * 1024, STREAM_WINDOW_BYTES);

/**
 * Operators on long links (and the WAN benchmark) can size the windows per process, in bytes, without a rebuild.
 * HTTP/2 allows 65,535 … 2^31−1; anything else is ignored with the default kept.
 */
function windowFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  return Number.isInteger(value) && value >= 65_535 && value <= 2 ** 31 - 1 ? value : fallback;
}

/**
 * The tunnel carries more than any client may send (the edge's limits.maxHeaderBytes ≤ 128 KiB and maxHeaderCount ≤
 * 400, plus the edge's own metadata), so the edge answers an oversized request with 431 itself: a client can never
 * make the tunnel refuse a stream.
 */
export const TUNNEL_MAX_HEADER_PAIRS = 512;
export const TUNNEL_MAX_HEADER_LIST_BYTES = 256 * 1024;

export const TUNNEL_SETTINGS: Settings = {
  initialWindowSize: STREAM_WINDOW_BYTES,
  maxConcurrentStreams: 10_000,
  maxHeaderListSize: TUNNEL_MAX_HEADER_LIST_BYTES,
  enablePush: false,
};

/** Session options both sides use; maxSessionMemory (MiB) bounds buffered data per tunnel. */
export const TUNNEL_SESSION_OPTIONS = {
  settings: TUNNEL_SETTINGS,
  maxSessionMemory: 128,
  maxHeaderListPairs: TUNNEL_MAX_HEADER_PAIRS,
  peerMaxConcurrentStreams: 10_000,
} as const;

export function widenConnectionWindow(session: Http2Session): void {
  const apply = (): void => session.setLocalWindowSize(CONNECTION_WINDOW_BYTES);
  if (session.connecting) session.once('connect', apply);
  else apply();
}
