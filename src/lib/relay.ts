import type { Duplex } from 'node:stream';

/**
 * Bytes both ways between two streams, with backpressure, each side's end ending the other's writable half: what
 * `a.pipe(b); b.pipe(a)` does for an upgraded connection, without pipe()'s per-call closures and listener
 * bookkeeping (about 1 KiB of heap per direction, held as long as the connection lives, which for an idle WebSocket
 * is all there is to it). The listeners are shared functions; each side finds the other through one property
 * (`peerOf`), which callers use for their own close and error listeners too.
 */
const kPeer = Symbol('relay peer');
type Side = Duplex & { [kPeer]: Duplex };

export function relayBothWays(a: Duplex, b: Duplex, options: { bEndsA?: boolean } = {}): void {
  (a as Side)[kPeer] = b;
  (b as Side)[kPeer] = a;
  a.on('data', forward);
  b.on('data', forward);
  a.on('drain', resumePeer);
  b.on('drain', resumePeer);
  a.on('end', endPeer);
  // `bEndsA: false`, as `b.pipe(a, { end: false })`: the caller decides how `a` ends when `b` has.
  if (options.bEndsA !== false) b.on('end', endPeer);
  // As pipe(): a side explicitly paused before (flowing === false) is not resumed by a 'data' listener.
  if (a.readableFlowing !== true) a.resume();
  if (b.readableFlowing !== true) b.resume();
}

/** Stops relaying (as unpipe() both ways): nothing more moves between the two; each is left as it is. */
export function stopRelay(a: Duplex, b: Duplex): void {
  for (const side of [a, b]) {
    side.removeListener('data', forward);
    side.removeListener('drain', resumePeer);
    side.removeListener('end', endPeer);
  }
}

/** The other side of a relayed stream. */
export function peerOf(side: Duplex): Duplex {
  return (side as Side)[kPeer];
}

function forward(this: Side, chunk: Buffer): void {
  const peer = this[kPeer];
  // Like an unpiped source: what the other side can no longer take is dropped, its close handling ends the rest.
  if (peer.writableEnded || peer.destroyed) return;
  if (!peer.write(chunk)) this.pause();
}

function resumePeer(this: Side): void {
  this[kPeer].resume();
}

function endPeer(this: Side): void {
  this[kPeer].end();
}
