// Where the client's long-term key comes from: a keytab (the connector's case)
// or a password (tests, tools). A password key depends on the salt the KDC
// announces in ETYPE-INFO2; a keytab key does not.
import { type Principal } from './asn1/principal.ts';
import { getEnctype, isSupportedEnctype, SUPPORTED_ENCTYPES } from './crypto/registry.ts';
import type { Keytab } from './keytab.ts';

export type KeySource = {
  /** Enctypes we can offer, strongest first. */
  enctypes(): number[];
  /** The key for enctype (and kvno when the KDC names one), or undefined. */
  key(
    enctype: number,
    salt: string | undefined,
    s2kparams: Uint8Array | undefined,
    kvno?: number,
  ): Uint8Array | undefined;
};

export function keytabKeySource(keytab: Keytab, principal: Principal): KeySource {
  return {
    enctypes: () => keytab.enctypesFor(principal).filter(isSupportedEnctype),
    key(enctype, _salt, _params, kvno) {
      try {
        return keytab.findKey({ principal, enctype, ...(kvno === undefined ? {} : { kvno }) }).key;
      } catch {
        // The KDC may name a kvno the keytab lacks (RODC, or AD's kvno quirks): fall back to the newest.
        if (kvno === undefined) return undefined;
        try {
          return keytab.findKey({ principal, enctype }).key;
        } catch {
          return undefined;
        }
      }
    },
  };
}

/** RFC 4120 default salt: realm followed by the name components. */
export function defaultSalt(principal: Principal): string {
  return principal.realm + principal.name.components.join('');
}

export function passwordKeySource(password: string, principal: Principal): KeySource {
  const cache = new Map<string, Uint8Array>();
  return {
    enctypes: () => [...SUPPORTED_ENCTYPES],
    key(enctype, salt, params) {
      if (!isSupportedEnctype(enctype)) return undefined;
      const s = salt ?? defaultSalt(principal);
      const id = `${enctype}:${s}:${params ? Buffer.from(params).toString('hex') : ''}`;
      let k = cache.get(id);
      if (!k) {
        k = getEnctype(enctype).stringToKey(password, s, params);
        cache.set(id, k);
      }
      return k;
    },
  };
}
