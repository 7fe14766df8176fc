// PrincipalName (RFC 4120 5.2.2) and the textual form "a/b@REALM".
import { KerberosError } from '../errors.ts';
import { type Node, Fields, fields, int, kstring, readSequenceOf, readString, sequenceOf } from './der.ts';

export const NameType = {
  UNKNOWN: 0,
  PRINCIPAL: 1,
  SRV_INST: 2,
  SRV_HST: 3,
  ENTERPRISE: 10,
  MS_PRINCIPAL: -128,
} as const;

export type PrincipalName = { nameType: number; components: string[] };

/** A principal with its realm. */
export type Principal = { name: PrincipalName; realm: string };

export function encodePrincipalName(p: PrincipalName): Node {
  return fields({ 0: int(p.nameType), 1: sequenceOf(p.components.map(kstring)) });
}

export function decodePrincipalName(node: Node): PrincipalName {
  const f = new Fields(node, 'PrincipalName');
  return { nameType: f.int(0), components: readSequenceOf(f.node(1), 'PrincipalName').map(readString) };
}

/**
 * Parse "user", "user@REALM", "HTTP/host", "HTTP/host@REALM" (RFC 1964 syntax with
 * backslash escapes). Services (a slash) get NT-SRV-INST, others NT-PRINCIPAL.
 */
export function parsePrincipal(text: string, defaultRealm?: string, nameType?: number): Principal {
  const comps: string[] = [];
  let cur = '';
  let realm: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\' && i + 1 < text.length) cur += text[++i];
    else if (ch === '/' && realm === undefined) {
      comps.push(cur);
      cur = '';
    } else if (ch === '@' && realm === undefined) {
      comps.push(cur);
      cur = '';
      realm = '';
    } else cur += ch;
  }
  if (realm === undefined) comps.push(cur);
  else realm = cur;
  const r = realm || defaultRealm;
  if (!r || comps.some((c) => c.length === 0))
    throw new KerberosError('KRB-INVALID-ARGUMENT', `invalid principal name "${text}"`);
  return {
    name: { nameType: nameType ?? (comps.length > 1 ? NameType.SRV_INST : NameType.PRINCIPAL), components: comps },
    realm: r,
  };
}

export function formatPrincipal(p: PrincipalName, realm?: string): string {
  const esc = (s: string) => s.replace(/[\\/@]/g, (m) => '\\' + m);
  const name = p.components.map(esc).join('/');
  return realm ? `${name}@${realm}` : name;
}

export function samePrincipalName(a: PrincipalName, b: PrincipalName): boolean {
  return a.components.length === b.components.length && a.components.every((c, i) => c === b.components[i]);
}
