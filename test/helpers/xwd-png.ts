/**
 * An X window dump (`xwd -root`, ZPixmap, 24/32 bits per pixel as Xvfb makes it) as a PNG, so a test keeps a
 * screenshot anyone can open. Only what Xvfb writes is read; anything else is refused with a message.
 */
import { deflateSync } from 'node:zlib';

export function xwdToPng(xwd: Buffer): Buffer {
  const u32 = (i: number) => xwd.readUInt32BE(i * 4);
  const headerSize = u32(0);
  const format = u32(2);
  const width = u32(4);
  const height = u32(5);
  const byteOrder = u32(7);
  const bitsPerPixel = u32(11);
  const bytesPerLine = u32(12);
  const redMask = u32(15);
  const ncolors = u32(19);
  if (format !== 2 || (bitsPerPixel !== 32 && bitsPerPixel !== 24))
    throw new Error(`xwd: unsupported format ${format}/${bitsPerPixel} bpp`);
  const pixels = headerSize + ncolors * 12;
  const bpp = bitsPerPixel / 8;
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const at = pixels + y * bytesPerLine + x * bpp;
      const v =
        bpp === 4
          ? byteOrder === 0
            ? xwd.readUInt32LE(at)
            : xwd.readUInt32BE(at)
          : byteOrder === 0
            ? xwd.readUIntLE(at, 3)
            : xwd.readUIntBE(at, 3);
      const [r, g, b] =
        redMask === 0xff0000 ? [(v >> 16) & 255, (v >> 8) & 255, v & 255] : [v & 255, (v >> 8) & 255, (v >> 16) & 255];
      raw[row + 1 + x * 3] = r;
      raw[row + 2 + x * 3] = g;
      raw[row + 3 + x * 3] = b;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
