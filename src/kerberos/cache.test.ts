import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CredentialCache } from './cache.ts';
import type { Credential } from './credential.ts';

function cred(startMs: number, lifetimeMs: number): Credential {
  const p = { name: { nameType: 1, components: ['x'] }, realm: 'R' };
  return {
    client: p,
    server: p,
    ticket: { realm: 'R', sname: p.name, encPart: { etype: 18, cipher: new Uint8Array(0) }, raw: new Uint8Array(0) },
    sessionKey: { keytype: 18, keyvalue: new Uint8Array(32) },
    flags: 0,
    authtime: new Date(startMs),
    endtime: new Date(startMs + lifetimeMs),
  };
}

describe('CredentialCache', () => {
  it('expires entries before their endtime, within half their lifetime for short tickets', () => {
    let now = 0;
    const c = new CredentialCache({ clock: () => now, refreshBeforeMs: 5 * 60_000 });
    c.set('long', cred(0, 3600_000));
    c.set('short', cred(0, 4 * 60_000));
    now = 3600_000 - 5 * 60_000 - 1;
    assert.ok(c.get('long'));
    now = 3600_000 - 5 * 60_000;
    assert.equal(c.get('long'), undefined);
    now = 2 * 60_000 - 1;
    assert.ok(c.get('short'));
    now = 2 * 60_000;
    assert.equal(c.get('short'), undefined);
  });

  it('evicts the least recently used entry when full', () => {
    const c = new CredentialCache({ clock: () => 0, maxEntries: 2 });
    c.set('a', cred(0, 3600_000));
    c.set('b', cred(0, 3600_000));
    c.get('a');
    c.set('c', cred(0, 3600_000));
    assert.ok(c.get('a'));
    assert.equal(c.get('b'), undefined);
    assert.equal(c.size, 2);
  });

  it('shares in-flight creation and does not cache failures', async () => {
    const c = new CredentialCache({ clock: () => 0 });
    let calls = 0;
    const make = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return cred(0, 3600_000);
    };
    const [x, y] = await Promise.all([c.getOrCreate('k', make), c.getOrCreate('k', make)]);
    assert.equal(x, y);
    assert.equal(calls, 1);
    await assert.rejects(c.getOrCreate('bad', async () => Promise.reject(new Error('kdc down'))));
    assert.equal(await c.getOrCreate('bad', make).then(() => calls), 2);
  });
});
