// RFC 3961 section 5.1 n-fold: stretch or shrink a byte string to `outBytes`
// by summing 13-bit right rotations of it with ones'-complement addition.
// Used by the RFC 3962 key derivation to turn a usage constant into a block.

export function nfold(input: Uint8Array, outBytes: number): Uint8Array {
  const inBytes = input.length;
  const lcm = leastCommonMultiple(inBytes, outBytes);
  // The lcm-long string: copy i (0-based) is the input rotated right by 13*i bits.
  const expanded = new Uint8Array(lcm);
  const inBits = inBytes * 8;
  for (let copy = 0; copy < lcm / inBytes; copy++) {
    const rot = (13 * copy) % inBits;
    for (let bit = 0; bit < inBits; bit++) {
      // Bit `bit` of the rotated copy comes from bit (bit - rot) of the input.
      const src = (bit - rot + inBits) % inBits;
      if ((input[src >> 3] >> (7 - (src & 7))) & 1) {
        const dst = copy * inBits + bit;
        expanded[dst >> 3] |= 1 << (7 - (dst & 7));
      }
    }
  }
  // Add the outBytes-long chunks together, big-endian, with end-around carry.
  const out = new Uint8Array(outBytes);
  let carry = 0;
  const sums = new Array<number>(outBytes).fill(0);
  for (let chunk = 0; chunk < lcm; chunk += outBytes) {
    for (let i = 0; i < outBytes; i++) sums[i] += expanded[chunk + i];
  }
  // Propagate carries from the least significant byte, wrapping around until stable.
  let dirty = true;
  while (dirty) {
    dirty = false;
    for (let i = outBytes - 1; i >= 0; i--) {
      const v = sums[i] + carry;
      sums[i] = v & 0xff;
      carry = v >> 8;
    }
    if (carry) {
      dirty = true;
    } else {
      for (let i = 0; i < outBytes; i++) if (sums[i] > 0xff) dirty = true;
    }
  }
  for (let i = 0; i < outBytes; i++) out[i] = sums[i];
  return out;
}

function leastCommonMultiple(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y) [x, y] = [y, x % y];
  return (a * b) / x;
}
