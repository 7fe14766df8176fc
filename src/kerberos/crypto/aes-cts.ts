// AES in CBC mode with ciphertext stealing, the Kerberos variant (RFC 3962
// section 5; NIST CBC-CS3): the last two blocks are always swapped, and a
// single-block message is plain CBC. The IV is all zeros in Kerberos use.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { keyObject } from './key-object.ts';

const BLOCK = 16;
const ZERO_IV = new Uint8Array(BLOCK);

function algorithm(key: Uint8Array, mode: 'cbc' | 'ecb'): string {
  if (key.length !== 16 && key.length !== 32) throw new RangeError(`AES key must be 16 or 32 bytes, got ${key.length}`);
  return `aes-${key.length * 8}-${mode}`;
}

function cbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array, encrypt: boolean): Uint8Array {
  const c = encrypt
    ? createCipheriv(algorithm(key, 'cbc'), keyObject(key), iv)
    : createDecipheriv(algorithm(key, 'cbc'), keyObject(key), iv);
  c.setAutoPadding(false);
  return concatBytes(c.update(data), c.final());
}

/** One raw AES block operation (ECB), for key derivation and CTS decryption. */
export function aesBlock(key: Uint8Array, block: Uint8Array, encrypt = true): Uint8Array {
  const c = encrypt
    ? createCipheriv(algorithm(key, 'ecb'), keyObject(key), null)
    : createDecipheriv(algorithm(key, 'ecb'), keyObject(key), null);
  c.setAutoPadding(false);
  return concatBytes(c.update(block), c.final());
}

export function ctsEncrypt(key: Uint8Array, plaintext: Uint8Array, iv: Uint8Array = ZERO_IV): Uint8Array {
  const len = plaintext.length;
  if (len < BLOCK) throw new RangeError('CTS needs at least one block of input');
  if (len === BLOCK) return cbc(key, iv, plaintext, true);
  // CBC over the zero-padded text, then swap the last two blocks and cut the
  // (now last) penultimate block to the length of the final partial block.
  const n = Math.ceil(len / BLOCK);
  const tail = len - (n - 1) * BLOCK;
  const padded = new Uint8Array(n * BLOCK);
  padded.set(plaintext);
  const c = cbc(key, iv, padded, true);
  const out = new Uint8Array(len);
  out.set(c.subarray(0, (n - 2) * BLOCK));
  out.set(c.subarray((n - 1) * BLOCK, n * BLOCK), (n - 2) * BLOCK);
  out.set(c.subarray((n - 2) * BLOCK, (n - 2) * BLOCK + tail), (n - 1) * BLOCK);
  return out;
}

export function ctsDecrypt(key: Uint8Array, ciphertext: Uint8Array, iv: Uint8Array = ZERO_IV): Uint8Array {
  const len = ciphertext.length;
  if (len < BLOCK) throw new RangeError('CTS needs at least one block of input');
  if (len === BLOCK) return cbc(key, iv, ciphertext, false);
  const n = Math.ceil(len / BLOCK);
  const tail = len - (n - 1) * BLOCK;
  const cn = ciphertext.subarray((n - 2) * BLOCK, (n - 1) * BLOCK); // the full last CBC block
  const cPrevCut = ciphertext.subarray((n - 1) * BLOCK); // first `tail` bytes of C(n-1)
  // D(Cn) = Pn(zero padded) xor C(n-1): its bytes past `tail` are C(n-1)'s missing bytes.
  const d = aesBlock(key, cn, false);
  const cPrev = new Uint8Array(BLOCK);
  cPrev.set(cPrevCut);
  cPrev.set(d.subarray(tail), tail);
  const last = new Uint8Array(tail);
  for (let i = 0; i < tail; i++) last[i] = d[i] ^ cPrev[i];
  const head = new Uint8Array((n - 1) * BLOCK);
  head.set(ciphertext.subarray(0, (n - 2) * BLOCK));
  head.set(cPrev, (n - 2) * BLOCK);
  return concatBytes(cbc(key, iv, head, false), last);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
