/** PEM armour: 64-column base64 between BEGIN/END lines, as OpenSSL writes it. */
export function derToPem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** The DER bytes of the first PEM block with `label`; throws when there is none. */
export function pemToDer(pem: string, label: string): Uint8Array<ArrayBuffer> {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`);
  const match = re.exec(pem);
  if (!match) throw new Error(`no PEM block labelled ${label}`);
  const buf = Buffer.from(match[1].replace(/\s+/g, ''), 'base64');
  const out = new Uint8Array(new ArrayBuffer(buf.byteLength));
  out.set(buf);
  return out;
}

/** True when `text` holds a PEM block with `label`. */
export function isPem(text: string, label: string): boolean {
  return text.includes(`-----BEGIN ${label}-----`) && text.includes(`-----END ${label}-----`);
}
