/**
 * A `lookup` for Node sockets that answers every name with one address: the client keeps the URL's host name for
 * Host and TLS SNI but connects to loopback (the app hosts are in no resolver).
 */
import type { LookupFunction } from 'node:net';

export function lookupTo(address: string): LookupFunction {
  return ((_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  }) as unknown as LookupFunction;
}
