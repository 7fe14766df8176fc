import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { completeRenewal } from './renewal.ts';

/** The swap of a renewed key and certificate must come out whole whatever moment a crash interrupts it. */
describe('completeRenewal', () => {
  const withDir = async (files: Record<string, string>, check: (dir: string) => Promise<void>) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'renewal-'));
    try {
      for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
      await check(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const read = (dir: string, name: string) => readFile(path.join(dir, name), 'utf8');

  it('crash after both .next files were written: both are moved in', () =>
    withDir(
      {
        'connector.key': 'old key',
        'connector.crt': 'old cert',
        'connector.key.next': 'new key',
        'connector.crt.next': 'new cert',
      },
      async (dir) => {
        assert.equal(await completeRenewal(dir), true);
        assert.deepEqual([await read(dir, 'connector.key'), await read(dir, 'connector.crt')], ['new key', 'new cert']);
        assert.deepEqual((await readdir(dir)).sort(), ['connector.crt', 'connector.key']);
      },
    ));

  it('crash between the two renames (key already moved): the certificate follows', () =>
    withDir(
      { 'connector.key': 'new key', 'connector.crt': 'old cert', 'connector.crt.next': 'new cert' },
      async (dir) => {
        assert.equal(await completeRenewal(dir), true);
        assert.deepEqual([await read(dir, 'connector.key'), await read(dir, 'connector.crt')], ['new key', 'new cert']);
      },
    ));

  it('crash before the certificate arrived: the old pair stays, the stray key is left unused', () =>
    withDir(
      { 'connector.key': 'old key', 'connector.crt': 'old cert', 'connector.key.next': 'new key' },
      async (dir) => {
        assert.equal(await completeRenewal(dir), false);
        assert.deepEqual([await read(dir, 'connector.key'), await read(dir, 'connector.crt')], ['old key', 'old cert']);
      },
    ));
});
