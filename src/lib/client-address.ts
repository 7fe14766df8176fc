import net from 'node:net';

/**
 * What per-client limits count by, on the edge (the socket's address) and the connector (the address the edge put in
 * X-Forwarded-For): an IPv4 address, or an IPv6 /64. One IPv6 host may use any address of its /64 (privacy
 * addresses), so counting whole IPv6 addresses would let it multiply its share. IPv4-mapped IPv6 counts as IPv4.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return '';
  if (address.startsWith('::ffff:') && net.isIPv4(address.slice(7))) return address.slice(7);
  if (!net.isIPv6(address)) return address;
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const zone = address.indexOf('%');
  const bare = zone >= 0 ? address.slice(0, zone) : address;
  const [head, tail] = bare.split('::');
  const split = (part: string): string[] => (part ? part.split(':').flatMap(ipv4AsGroups) : []);
  const first = split(head);
  const last = tail === undefined ? [] : split(tail);
  const groups =
    tail === undefined ? first : [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  return groups.map((g) => parseInt(g, 16).toString(16));
}

/** An embedded dotted IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) is two groups. */
function ipv4AsGroups(group: string): string[] {
  if (!group.includes('.')) return [group];
  const [a, b, c, d] = group.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}
