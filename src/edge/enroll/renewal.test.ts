import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { needsRenewal } from './renewal.ts';
import { parseEdgeConfig } from '../../config/edge-config.ts';

const DAY = 86_400_000;

describe('connector certificate renewal window', () => {
  const now = new Date('2026-11-28T00:00:00Z');
  const inDays = (d: number) => new Date(now.getTime() + d * DAY).toISOString();

  it('renews only inside the window before expiry', () => {
    assert.equal(needsRenewal(inDays(300), now, 120), false);
    assert.equal(needsRenewal(inDays(120.01), now, 120), false);
    assert.equal(needsRenewal(inDays(119.99), now, 120), true);
    assert.equal(needsRenewal(inDays(-1), now, 120), true, 'an expired one too (it can still be on a live tunnel)');
  });

  it('refuses a window as long as the validity, which would renew every new certificate at once', () => {
    const base = { stateDir: '/tmp/x', domain: 'apps.example', tls: [{ certFile: 'a', keyFile: 'b' }] };
    assert.equal(parseEdgeConfig(base).tunnel.certRenewBeforeDays, 120);
    assert.throws(
      () => parseEdgeConfig({ ...base, tunnel: { certValidityDays: 30, certRenewBeforeDays: 30 } }),
      /certRenewBeforeDays \(30\) must be below tunnel.certValidityDays \(30\)/,
    );
  });
});
