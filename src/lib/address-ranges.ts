import net from 'node:net';

/**
 * A list of addresses and CIDR ranges (e.g. `listen.trustedProxies`). An IPv4-mapped IPv6 address (a dual-stack
 * listener's view of an IPv4 client) counts as its IPv4 address.
 */
export class AddressRanges {
  readonly #list = new net.BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const range = parseRange(entry);
      if (!range) throw new Error(`not an address or CIDR range: ${JSON.stringify(entry)}`);
      this.#list.addSubnet(range.address, range.prefix, range.family);
    }
    this.size = entries.length;
  }

  has(address: string | undefined): boolean {
    if (!address || this.size === 0) return false;
    const bare = address.startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
    const family = net.isIP(bare);
    if (family === 0) return false;
    return this.#list.check(bare, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** `192.0.2.7`, `192.0.2.0/24`, `2001:db8::/32`: null when it is none of these. */
export function parseRange(entry: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address, bits, extra] = entry.split('/');
  if (extra !== undefined) return null;
  const family = net.isIP(address);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  if (bits !== undefined && !/^(0|[1-9][0-9]{0,2})$/.test(bits)) return null;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return null;
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}
