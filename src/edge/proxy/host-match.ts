/**
 * The keys a host is looked up under, most specific first: the host itself, then wildcard patterns for ever shorter
 * parent domains (`a.b.corp.example.com` → `*.b.corp.example.com`, `*.corp.example.com`, …). The first key with an
 * app (or a certificate) wins, so an exact app beats a wildcard and a longer wildcard suffix beats a shorter one.
 */
export function hostLookupKeys(host: string): string[] {
  const keys = [host];
  for (let dot = host.indexOf('.'); dot >= 0 && dot < host.length - 1; dot = host.indexOf('.', dot + 1)) {
    const parent = host.slice(dot + 1);
    if (parent.includes('.')) keys.push(`*.${parent}`); // never `*.com`: a wildcard needs a registrable-looking suffix
  }
  return keys;
}

/** The value for the most specific key of `host` in `table`. */
export function mostSpecific<T>(table: ReadonlyMap<string, T>, host: string): T | undefined {
  if (table.size === 0) return undefined;
  // The exact host first, without building the wildcard keys: most requests stop here.
  const exact = table.get(host);
  if (exact !== undefined) return exact;
  for (const key of hostLookupKeys(host)) {
    const found = table.get(key);
    if (found !== undefined) return found;
  }
  return undefined;
}
