import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketFrameTracker, closeFrame } from './websocket-close.ts';

const frame = (opcode: number, payload: Buffer): Buffer => {
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0x80 | opcode, len])
      : len < 65536
        ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 0xff])
        : (() => {
            const b = Buffer.alloc(10);
            b[0] = 0x80 | opcode;
            b[1] = 127;
            b.writeBigUInt64BE(BigInt(len), 2);
            return b;
          })();
  return Buffer.concat([head, payload]);
};

test('follows frame boundaries across arbitrary chunking', () => {
  const wire = Buffer.concat([
    frame(1, Buffer.from('hello')),
    frame(2, Buffer.alloc(300, 1)),
    frame(2, Buffer.alloc(70_000, 2)),
  ]);
  for (const size of [1, 3, 7, 125, 4096]) {
    const t = new WebSocketFrameTracker();
    const boundaries: number[] = [];
    for (let i = 0; i < wire.length; i += size) {
      t.feed(wire.subarray(i, i + size));
      if (t.atBoundary) boundaries.push(Math.min(i + size, wire.length));
    }
    assert.ok(t.atBoundary);
    assert.ok(boundaries.includes(wire.length));
    if (size === 1) assert.deepEqual(boundaries, [7, 7 + 304, wire.length]);
  }
});

test('notices a close frame from the server and builds one', () => {
  const t = new WebSocketFrameTracker();
  t.feed(closeFrame(1000, 'bye'));
  assert.ok(t.sawClose);
  assert.ok(t.atBoundary);
  const f = closeFrame(1011, 'connector lost');
  assert.equal(f[0], 0x88);
  assert.equal(f.readUInt16BE(2), 1011);
  assert.equal(f.subarray(4).toString(), 'connector lost');
});
