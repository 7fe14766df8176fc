// Derived keys (Ke, Ki, Kc per usage) are pure functions of the base key and the usage, but each costs several AES
// or HMAC operations. A connector encrypts an authenticator with the same session key on every request, so the
// derivations are cached per base-key object (as MIT krb5 does); the WeakMap lets them go with the key.

const cache = new WeakMap<Uint8Array, Map<number, Uint8Array>>();

/** Returns derive() for this base key, usage and kind, computing it once. */
export function cachedDerivedKey(base: Uint8Array, usage: number, kind: number, derive: () => Uint8Array): Uint8Array {
  let byUsage = cache.get(base);
  if (!byUsage) {
    byUsage = new Map();
    cache.set(base, byUsage);
  }
  const slot = usage * 256 + kind;
  let key = byUsage.get(slot);
  if (!key) {
    key = derive();
    byUsage.set(slot, key);
  }
  return key;
}
