// Thin DER helpers over asn1js, shaped for Kerberos: every SEQUENCE field is
// an EXPLICIT context tag, strings are GeneralString (we write UTF-8, as MIT,
// Heimdal and Windows accept), times are GeneralizedTime without fractions.
import * as asn1js from 'asn1js';
import { KerberosError } from '../errors.ts';

export type Node = asn1js.AsnType;
type Encodable = { toBER(sizeOnly?: boolean, writer?: asn1js.ViewWriter): ArrayBuffer };

const TagClass = { Universal: 1, Application: 2, Context: 3 } as const;
const GENERAL_STRING = 27;

/** Pre-encoded DER bytes spliced in verbatim (tickets must go back byte for byte). */
class Raw implements Encodable {
  bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  toBER(_sizeOnly?: boolean, writer?: asn1js.ViewWriter): ArrayBuffer {
    const buf = this.bytes.slice().buffer;
    if (writer) {
      writer.write(buf);
      return new ArrayBuffer(0);
    }
    return buf;
  }
}

// ---- encoding ----

export function raw(bytes: Uint8Array): Node {
  return new Raw(bytes) as unknown as Node;
}

export function explicit(tag: number, inner: Node): Node {
  return new asn1js.Constructed({
    idBlock: { tagClass: TagClass.Context, tagNumber: tag },
    value: [inner as asn1js.BaseBlock],
  });
}

export function application(tag: number, ...inner: Node[]): Node {
  return new asn1js.Constructed({
    idBlock: { tagClass: TagClass.Application, tagNumber: tag },
    value: inner as asn1js.BaseBlock[],
  });
}

/** SEQUENCE of [tag] EXPLICIT fields; undefined entries (absent OPTIONALs) are skipped. */
export function fields(entries: Record<number, Node | undefined>): Node {
  const value: asn1js.BaseBlock[] = [];
  for (const tag of Object.keys(entries)
    .map(Number)
    .sort((a, b) => a - b)) {
    const v = entries[tag];
    if (v !== undefined) value.push(explicit(tag, v) as asn1js.BaseBlock);
  }
  return new asn1js.Sequence({ value });
}

export function sequenceOf(items: Node[]): Node {
  return new asn1js.Sequence({ value: items as asn1js.BaseBlock[] });
}

export function int(n: number | bigint): Node {
  if (typeof n === 'bigint') return asn1js.Integer.fromBigInt(n);
  if (!Number.isSafeInteger(n)) throw new KerberosError('KRB-INVALID-ARGUMENT', `not an integer: ${n}`);
  return asn1js.Integer.fromBigInt(BigInt(n));
}

export function octets(bytes: Uint8Array): Node {
  return new asn1js.OctetString({ valueHex: bytes });
}

export function kstring(s: string): Node {
  return new asn1js.Primitive({
    idBlock: { tagClass: TagClass.Universal, tagNumber: GENERAL_STRING },
    valueHex: new TextEncoder().encode(s),
  });
}

export function ktime(d: Date): Node {
  const iso = d.toISOString(); // 2024-01-02T03:04:05.678Z
  const v =
    iso.slice(0, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19) +
    'Z';
  return new asn1js.GeneralizedTime({ value: v });
}

/** KerberosFlags: a 32-bit BIT STRING, bit 0 the most significant. */
export function flags(bits: number): Node {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, bits >>> 0);
  return new asn1js.BitString({ valueHex: b, unusedBits: 0 });
}

export function oid(dotted: string): Node {
  return new asn1js.ObjectIdentifier({ value: dotted });
}

export function bool(v: boolean): Node {
  return new asn1js.Boolean({ value: v });
}

export function enumerated(n: number): Node {
  return new asn1js.Enumerated({ value: n });
}

export function encode(node: Node): Uint8Array {
  return new Uint8Array((node as unknown as Encodable).toBER());
}

/** Flag bit numbering as in RFC 4120: bit 0 is the MSB of the first octet. */
export function flagBit(n: number): number {
  return (0x80000000 >>> n) >>> 0;
}

// ---- decoding ----

export function decodeError(what: string, cause?: unknown): KerberosError {
  return new KerberosError('KRB-DECODE', `malformed ${what}`, cause === undefined ? {} : { cause });
}

/** Parse exactly one DER element; trailing bytes are an error. */
export function parse(bytes: Uint8Array, what = 'DER'): Node {
  const r = asn1js.fromBER(bytes);
  if (r.offset === -1 || r.offset !== bytes.length)
    throw decodeError(what, r.result.error || `${bytes.length - r.offset} trailing bytes`);
  return r.result;
}

export function tagOf(node: Node): { cls: number; num: number } {
  const id = (node as asn1js.BaseBlock).idBlock;
  return { cls: id.tagClass, num: id.tagNumber };
}

/** The bytes this node was decoded from (header included). */
export function rawOf(node: Node): Uint8Array {
  return new Uint8Array((node as asn1js.BaseBlock).valueBeforeDecodeView);
}

function children(node: Node, what: string): asn1js.BaseBlock[] {
  const vb = (node as asn1js.BaseBlock).valueBlock as unknown as { value?: unknown };
  if (!Array.isArray(vb.value)) throw decodeError(what);
  return vb.value as asn1js.BaseBlock[];
}

/** Unwrap [APPLICATION tag] and return its single inner element. */
export function unwrapApplication(node: Node, tag: number, what: string): Node {
  const t = tagOf(node);
  if (t.cls !== TagClass.Application || t.num !== tag)
    throw decodeError(`${what} (expected [APPLICATION ${tag}], got class ${t.cls} tag ${t.num})`);
  const c = children(node, what);
  if (c.length !== 1) throw decodeError(what);
  return c[0];
}

export function applicationTag(node: Node): number | undefined {
  const t = tagOf(node);
  return t.cls === TagClass.Application ? t.num : undefined;
}

/** Reads the EXPLICIT-tagged fields of a SEQUENCE. */
export class Fields {
  readonly what: string;
  readonly map: Map<number, Node>;

  constructor(node: Node, what: string) {
    this.what = what;
    this.map = new Map();
    if (!(node instanceof asn1js.Sequence)) throw decodeError(`${what} (not a SEQUENCE)`);
    for (const child of children(node, what)) {
      if (child.idBlock.tagClass !== TagClass.Context) throw decodeError(`${what} (untagged field)`);
      const inner = children(child, what);
      if (inner.length !== 1) throw decodeError(`${what} [${child.idBlock.tagNumber}]`);
      this.map.set(child.idBlock.tagNumber, inner[0]);
    }
  }

  has(tag: number): boolean {
    return this.map.has(tag);
  }

  node(tag: number): Node {
    const n = this.map.get(tag);
    if (n === undefined) throw decodeError(`${this.what} (missing field [${tag}])`);
    return n;
  }

  opt<T>(tag: number, read: (n: Node) => T): T | undefined {
    const n = this.map.get(tag);
    return n === undefined ? undefined : read(n);
  }

  int(tag: number): number {
    return readInt(this.node(tag));
  }
  str(tag: number): string {
    return readString(this.node(tag));
  }
  bytes(tag: number): Uint8Array {
    return readOctets(this.node(tag));
  }
  time(tag: number): Date {
    return readTime(this.node(tag));
  }
  flags(tag: number): number {
    return readFlags(this.node(tag));
  }
}

export function readInt(node: Node): number {
  if (!(node instanceof asn1js.Integer)) throw decodeError('INTEGER');
  const v = node.toBigInt();
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
    throw decodeError('INTEGER (too large)');
  return Number(v);
}

export function readOctets(node: Node): Uint8Array {
  if (!(node instanceof asn1js.OctetString)) throw decodeError('OCTET STRING');
  return new Uint8Array(node.valueBlock.valueHexView);
}

export function readString(node: Node): string {
  // GeneralString in Kerberos, but accept any string type a peer may use.
  const vb = (node as asn1js.BaseBlock).valueBlock as unknown as { valueHexView?: Uint8Array };
  const t = tagOf(node);
  if (t.cls !== TagClass.Universal || !vb.valueHexView) throw decodeError('string');
  return new TextDecoder().decode(vb.valueHexView);
}

export function readTime(node: Node): Date {
  if (!(node instanceof asn1js.GeneralizedTime)) throw decodeError('KerberosTime');
  return node.toDate();
}

export function readFlags(node: Node): number {
  if (!(node instanceof asn1js.BitString)) throw decodeError('KerberosFlags');
  const b = node.valueBlock.valueHexView;
  let v = 0;
  for (let i = 0; i < 4; i++) v = (v << 8) | (b[i] ?? 0);
  return v >>> 0;
}

export function readSequenceOf(node: Node, what: string): Node[] {
  if (!(node instanceof asn1js.Sequence)) throw decodeError(`${what} (not a SEQUENCE OF)`);
  return children(node, what);
}

export function readOid(node: Node): string {
  if (!(node instanceof asn1js.ObjectIdentifier)) throw decodeError('OBJECT IDENTIFIER');
  return node.valueBlock.toString();
}

export function readEnumerated(node: Node): number {
  if (!(node instanceof asn1js.Enumerated)) throw decodeError('ENUMERATED');
  return Number(node.toBigInt());
}
