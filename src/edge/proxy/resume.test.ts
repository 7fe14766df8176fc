import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resumable } from './resume.ts';

const MiB = 1024 * 1024;
const ok = { 'accept-ranges': 'bytes', 'content-length': String(64 * MiB), etag: '"v1"' };

describe('which downloads can be finished from another connector', () => {
  it('a large 200 with byte ranges and a strong validator', () => {
    assert.deepEqual(resumable('GET', {}, 200, ok), { total: 64 * MiB, validator: '"v1"' });
    assert.deepEqual(
      resumable('GET', {}, 200, { ...ok, etag: 'W/"v1"', 'last-modified': 'Sat, 28 Nov 2026 08:00:00 GMT' }),
      { total: 64 * MiB, validator: 'Sat, 28 Nov 2026 08:00:00 GMT' },
      'a weak ETag cannot validate a range: Last-Modified can',
    );
  });
  it('not without ranges, a length, a strong validator, or when the client asked for a range itself', () => {
    assert.equal(resumable('GET', {}, 200, { ...ok, 'accept-ranges': 'none' }), null);
    assert.equal(resumable('GET', {}, 200, { ...ok, 'content-length': undefined }), null);
    assert.equal(resumable('GET', {}, 200, { ...ok, etag: 'W/"v1"' }), null);
    assert.equal(resumable('GET', { range: 'bytes=0-99' }, 200, ok), null);
    assert.equal(resumable('POST', {}, 200, ok), null);
    assert.equal(resumable('GET', {}, 206, ok), null);
  });
  it('not for small bodies (over before a connector death matters; no bookkeeping on the hot path)', () => {
    assert.equal(resumable('GET', {}, 200, { ...ok, 'content-length': String(MiB - 1) }), null);
    assert.ok(resumable('GET', {}, 200, { ...ok, 'content-length': String(MiB) }));
  });
});
