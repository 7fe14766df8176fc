import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePrincipal } from './asn1/principal.ts';
import { Keytab, parseKeytab, serializeKeytab, type KeytabEntry } from './keytab.ts';

const ts = new Date('2025-03-04T05:06:07Z');
const connector = parsePrincipal('connector@CORP.TEST');
const app = parsePrincipal('HTTP/app.corp.test@CORP.TEST');
const entries: KeytabEntry[] = [
  { principal: connector, timestamp: ts, kvno: 2, enctype: 17, key: new Uint8Array(16).fill(1) },
  { principal: connector, timestamp: ts, kvno: 2, enctype: 18, key: new Uint8Array(32).fill(2) },
  { principal: connector, timestamp: ts, kvno: 1, enctype: 18, key: new Uint8Array(32).fill(3) },
  { principal: app, timestamp: ts, kvno: 300, enctype: 18, key: new Uint8Array(32).fill(4) },
];

describe('keytab', () => {
  it('round-trips entries, including a kvno above 255', () => {
    const back = parseKeytab(serializeKeytab(entries));
    assert.deepEqual(back, entries);
  });

  it('reads the exact MIT layout by hand', () => {
    // One record for a@R, name-type 1, ts 1, kvno 3, enctype 17, 16-byte key, no 32-bit kvno.
    const rec = [0, 1, 0, 1, 0x52, 0, 1, 0x61, 0, 0, 0, 1, 0, 0, 0, 1, 3, 0, 17, 0, 16, ...new Array(16).fill(9)];
    const bytes = new Uint8Array([5, 2, 0, 0, 0, rec.length, ...rec]);
    const [e] = parseKeytab(bytes);
    assert.equal(e.kvno, 3);
    assert.equal(e.enctype, 17);
    assert.deepEqual(e.principal, { name: { nameType: 1, components: ['a'] }, realm: 'R' });
    assert.equal(e.timestamp.getTime(), 1000);
  });

  it('skips holes and stops at a zero tail', () => {
    const good = serializeKeytab([entries[0]]).subarray(2);
    const hole = new Uint8Array([0xff, 0xff, 0xff, 0xfc, 1, 2, 3, 4]); // size -4 then 4 junk bytes
    const bytes = new Uint8Array([5, 2, ...hole, ...good, 0, 0, 0, 0]);
    assert.equal(parseKeytab(bytes).length, 1);
  });

  it('rejects other versions and truncation', () => {
    assert.throws(() => parseKeytab(new Uint8Array([5, 1])), { code: 'KRB-KEYTAB-FORMAT' });
    assert.throws(() => parseKeytab(new Uint8Array([1, 2])), { code: 'KRB-KEYTAB-FORMAT' });
    const full = serializeKeytab([entries[0]]);
    assert.throws(() => parseKeytab(full.subarray(0, full.length - 3)), { code: 'KRB-KEYTAB-FORMAT' });
  });

  it('chooses keys: newest kvno, strongest enctype, explicit selectors', () => {
    const kt = new Keytab(entries);
    assert.equal(kt.findKey({ principal: connector }).enctype, 18);
    assert.equal(kt.findKey({ principal: connector }).kvno, 2);
    assert.equal(kt.findKey({ principal: connector, enctype: 17 }).kvno, 2);
    assert.equal(kt.findKey({ principal: connector, kvno: 1 }).key[0], 3);
    assert.equal(kt.findKey({ principal: parsePrincipal('connector@corp.test') }).enctype, 18);
    assert.deepEqual(kt.enctypesFor(connector), [18, 17]);
    assert.throws(() => kt.findKey({ principal: connector, enctype: 23 }), { code: 'KRB-KEYTAB-NO-KEY' });
    assert.throws(() => kt.findKey({ principal: parsePrincipal('bob@CORP.TEST') }), { code: 'KRB-KEYTAB-NO-KEY' });
  });

  it('writes files with mode 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kt-'));
    try {
      const path = join(dir, 'x.keytab');
      await new Keytab(entries).write(path);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.deepEqual((await Keytab.read(path)).entries, entries);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
