import type net from 'node:net';

/**
 * THE client address of a connection, for everything downstream of the public port: X-Forwarded-For to backends,
 * per-client limits, the sign-in log and its rate limits, audit. It is the socket's peer address, unless the
 * connection came from a trusted load balancer that named the client in a PROXY protocol header (public-port.ts).
 *
 * Readers hold different objects for one connection (the raw socket, its TLS socket, the request's socket, which
 * for extension methods is a wrapper): all share the TCP peer's address and port, so that pair finds the entry.
 * The answer is then remembered per object, so it holds after the connection closed (a sign-in still finishing).
 */
interface PeerSocket {
  remoteAddress?: string;
  remotePort?: number;
}

const byConnection = new Map<string, { socket: net.Socket; address: string }>();
const remembered = new WeakMap<object, string>();

/** Records what a trusted proxy said of `socket`'s client, for the life of the connection. */
export function setClientAddress(socket: net.Socket, address: string): void {
  remembered.set(socket, address);
  if (socket.remoteAddress === undefined) return;
  const key = connectionKey(socket);
  byConnection.set(key, { socket, address });
  socket.once('close', () => {
    // A new connection may already have reused the pair: remove only this one's entry.
    if (byConnection.get(key)?.socket === socket) byConnection.delete(key);
  });
}

/** The client's address for a socket of the public port (or any object standing for one). */
export function clientAddress(socket: PeerSocket | null | undefined): string | undefined {
  if (!socket) return undefined;
  const known = remembered.get(socket);
  if (known !== undefined) return known;
  if (byConnection.size === 0) return socket.remoteAddress;
  const entry = byConnection.get(connectionKey(socket));
  if (!entry) return socket.remoteAddress;
  remembered.set(socket, entry.address);
  return entry.address;
}

function connectionKey(socket: PeerSocket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
