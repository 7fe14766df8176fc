// MIT keytab files, format version 0x0502 (the one every modern tool writes):
//   u16 0x0502, then records: i32 size (negative = a hole to skip), then
//   u16 ncomp, str realm, ncomp × str, u32 name-type, u32 timestamp, u8 kvno,
//   u16 enctype, str key, [u32 kvno when the record has room: overrides the u8].
// All integers big-endian, str = u16 length + bytes.
import { readFile, writeFile } from 'node:fs/promises';
import type { Principal } from './asn1/principal.ts';
import { formatPrincipal } from './asn1/principal.ts';
import { KerberosError } from './errors.ts';
import { SUPPORTED_ENCTYPES } from './crypto/registry.ts';

export type KeytabEntry = {
  principal: Principal;
  /** When the key was written (seconds precision). */
  timestamp: Date;
  kvno: number;
  enctype: number;
  key: Uint8Array;
};

export type KeySelector = { principal: Principal; enctype?: number; kvno?: number };

function formatError(msg: string): KerberosError {
  return new KerberosError('KRB-KEYTAB-FORMAT', `keytab: ${msg}`);
}

export function parseKeytab(bytes: Uint8Array): KeytabEntry[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 2 || bytes[0] !== 0x05) throw formatError('not a keytab (bad magic)');
  if (bytes[1] !== 0x02)
    throw formatError(`version 0x05${bytes[1].toString(16).padStart(2, '0')} not supported (0x0502 only)`);
  const entries: KeytabEntry[] = [];
  let off = 2;
  while (off + 4 <= bytes.length) {
    const size = dv.getInt32(off);
    off += 4;
    if (size === 0) break; // zero-filled tail some writers leave
    if (size < 0) {
      off += -size; // deleted entry
      continue;
    }
    const end = off + size;
    if (end > bytes.length) throw formatError('truncated record');
    let p = off;
    const need = (n: number) => {
      if (p + n > end) throw formatError('record shorter than its fields');
    };
    const u16 = () => (need(2), (p += 2), dv.getUint16(p - 2));
    const u32 = () => (need(4), (p += 4), dv.getUint32(p - 4));
    const str = () => {
      const n = u16();
      need(n);
      p += n;
      return bytes.subarray(p - n, p);
    };
    const dec = new TextDecoder();
    const ncomp = u16();
    const realm = dec.decode(str());
    const components: string[] = [];
    for (let i = 0; i < ncomp; i++) components.push(dec.decode(str()));
    const nameType = dv.getInt32((need(4), (p += 4), p - 4));
    const timestamp = new Date(u32() * 1000);
    need(1);
    let kvno = bytes[p++];
    const enctype = dv.getInt16((need(2), (p += 2), p - 2));
    const key = new Uint8Array(str()); // copy: do not pin the whole file buffer
    if (end - p >= 4) {
      const kvno32 = u32();
      if (kvno32 !== 0) kvno = kvno32;
    }
    entries.push({ principal: { name: { nameType, components }, realm }, timestamp, kvno, enctype, key });
    off = end;
  }
  return entries;
}

export function serializeKeytab(entries: KeytabEntry[]): Uint8Array {
  const te = new TextEncoder();
  const chunks: Uint8Array[] = [new Uint8Array([0x05, 0x02])];
  for (const e of entries) {
    const parts: number[] = [];
    const u16 = (v: number) => parts.push((v >> 8) & 0xff, v & 0xff);
    const u32 = (v: number) => parts.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    const str = (b: Uint8Array) => {
      if (b.length > 0xffff) throw new KerberosError('KRB-INVALID-ARGUMENT', 'keytab: field too long');
      u16(b.length);
      for (const x of b) parts.push(x);
    };
    u16(e.principal.name.components.length);
    str(te.encode(e.principal.realm));
    for (const c of e.principal.name.components) str(te.encode(c));
    u32(e.principal.name.nameType >>> 0);
    u32(Math.floor(e.timestamp.getTime() / 1000) >>> 0);
    parts.push(e.kvno & 0xff);
    u16(e.enctype & 0xffff);
    str(e.key);
    u32(e.kvno >>> 0);
    const rec = new Uint8Array(4 + parts.length);
    new DataView(rec.buffer).setInt32(0, parts.length);
    rec.set(parts, 4);
    chunks.push(rec);
  }
  let total = 0;
  for (const c of chunks) total += c.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function samePrincipal(a: Principal, b: Principal): boolean {
  // Realms compare case-insensitively (AD realms are upper case but users type either).
  return (
    a.realm.toUpperCase() === b.realm.toUpperCase() &&
    a.name.components.length === b.name.components.length &&
    a.name.components.every((c, i) => c === b.name.components[i])
  );
}

export class Keytab {
  readonly entries: readonly KeytabEntry[];

  constructor(entries: KeytabEntry[]) {
    this.entries = entries;
  }

  static parse(bytes: Uint8Array): Keytab {
    return new Keytab(parseKeytab(bytes));
  }

  static async read(path: string): Promise<Keytab> {
    return Keytab.parse(new Uint8Array(await readFile(path)));
  }

  toBytes(): Uint8Array {
    return serializeKeytab([...this.entries]);
  }

  /** Write with mode 0600: a keytab is a password. */
  async write(path: string): Promise<void> {
    await writeFile(path, this.toBytes(), { mode: 0o600 });
  }

  principals(): Principal[] {
    const seen = new Map<string, Principal>();
    for (const e of this.entries) seen.set(formatPrincipal(e.principal.name, e.principal.realm), e.principal);
    return [...seen.values()];
  }

  /** Enctypes held for the principal at its newest kvno, strongest supported first. */
  enctypesFor(principal: Principal): number[] {
    const mine = this.entries.filter((e) => samePrincipal(e.principal, principal));
    if (mine.length === 0) return [];
    const newest = Math.max(...mine.map((e) => e.kvno));
    const types = new Set(mine.filter((e) => e.kvno === newest).map((e) => e.enctype));
    return [
      ...SUPPORTED_ENCTYPES.filter((t) => types.has(t)),
      ...[...types].filter((t) => !SUPPORTED_ENCTYPES.includes(t)),
    ];
  }

  /**
   * The key for a principal. Without kvno: the newest. Without enctype: the
   * strongest supported one. Throws KRB-KEYTAB-NO-KEY with what was there.
   */
  findKey(sel: KeySelector): KeytabEntry {
    let mine = this.entries.filter((e) => samePrincipal(e.principal, sel.principal));
    const who = formatPrincipal(sel.principal.name, sel.principal.realm);
    if (mine.length === 0) {
      const have = this.principals().map((p) => formatPrincipal(p.name, p.realm));
      throw new KerberosError('KRB-KEYTAB-NO-KEY', `keytab has no key for ${who}`, {
        hint: `keytab holds: ${have.join(', ') || 'nothing'}`,
      });
    }
    if (sel.kvno !== undefined) mine = mine.filter((e) => e.kvno === sel.kvno);
    else {
      // Newest kvno that has a usable key for the request.
      const usable = mine.filter((e) =>
        sel.enctype === undefined ? SUPPORTED_ENCTYPES.includes(e.enctype) : e.enctype === sel.enctype,
      );
      const newest = Math.max(...(usable.length ? usable : mine).map((e) => e.kvno));
      mine = mine.filter((e) => e.kvno === newest);
    }
    const pick =
      sel.enctype !== undefined
        ? mine.find((e) => e.enctype === sel.enctype)
        : SUPPORTED_ENCTYPES.map((t) => mine.find((e) => e.enctype === t)).find((e) => e !== undefined);
    if (!pick) {
      const what = [
        sel.enctype !== undefined ? `enctype ${sel.enctype}` : 'a supported AES enctype',
        sel.kvno !== undefined ? `kvno ${sel.kvno}` : undefined,
      ]
        .filter(Boolean)
        .join(', ');
      const have = this.entries
        .filter((e) => samePrincipal(e.principal, sel.principal))
        .map((e) => `kvno ${e.kvno} enctype ${e.enctype}`)
        .join('; ');
      throw new KerberosError('KRB-KEYTAB-NO-KEY', `keytab has no key for ${who} with ${what}`, {
        hint: `keytab holds for it: ${have}`,
      });
    }
    return pick;
  }
}
