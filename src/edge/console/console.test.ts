import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { keyRingFrom } from '../../identity/keys.ts';
import { stackedBarChart } from './chart.ts';
import { BOOTSTRAP_SESSION_SECONDS, bootstrapCookie, csrfFor, csrfOk, hasBootstrapSession } from './session.ts';
import { scopedPath } from './admin-client.ts';

const keys = keyRingFrom(randomBytes(32));
const request = (headers: Record<string, string>) => ({ headers } as unknown as IncomingMessage);
const cookieOf = (setCookie: string) => setCookie.split(';')[0];

test('a bootstrap session is signed, expires, and ends when the token changes', () => {
  const now = Date.now();
  const cookie = cookieOf(bootstrapCookie(keys, 'token-one-0123456789abcdef', now));
  assert.equal(hasBootstrapSession(keys, 'token-one-0123456789abcdef', request({ cookie }), now + 1000), true);
  assert.equal(hasBootstrapSession(keys, 'token-two-0123456789abcdef', request({ cookie }), now + 1000), false, 'another token');
  assert.equal(hasBootstrapSession(keys, 'token-one-0123456789abcdef', request({ cookie }), now + BOOTSTRAP_SESSION_SECONDS * 1000 + 1), false, 'expired');
  const forged = cookie.replace(/=([^.]+)/, '=eyJrIjoiYm9vdHN0cmFwIiwiZSI6OTk5OTk5OTk5OTk5OX0');
  assert.equal(hasBootstrapSession(keys, 'token-one-0123456789abcdef', request({ cookie: forged }), now), false, 'unsigned');
  const otherKeys = keyRingFrom(randomBytes(32));
  assert.equal(hasBootstrapSession(otherKeys, 'token-one-0123456789abcdef', request({ cookie }), now), false, 'another key ring');
});

test('the CSRF token is bound to the session cookie and refused from another origin', () => {
  const a = request({ cookie: '__Host-drawbridge-session=aaa' });
  const b = request({ cookie: '__Host-drawbridge-session=bbb' });
  const token = csrfFor(keys, a);
  assert.notEqual(token, csrfFor(keys, b));
  assert.equal(csrfOk(keys, a, 'https://admin.x', token), true);
  assert.equal(csrfOk(keys, b, 'https://admin.x', token), false, 'another session');
  assert.equal(csrfOk(keys, request({ cookie: '__Host-drawbridge-session=aaa', origin: 'https://evil.example' }), 'https://admin.x', token), false);
  assert.equal(csrfOk(keys, a, 'https://admin.x', null), false);
});

test('a directory administrator names only their own tenant in API paths', () => {
  const admin = { kind: 'directory' as const, name: 'ada@contoso', tenantId: 'tnt_a', userId: 'usr_1' };
  assert.equal(scopedPath(admin, 'tnt_a', '/apps'), '/tenants/tnt_a/apps');
  assert.throws(() => scopedPath(admin, 'tnt_b', '/apps'), /DB-CONSOLE-NOT-ADMIN|another tenant/);
  assert.equal(scopedPath({ ...admin, kind: 'bootstrap', tenantId: null }, 'tnt_b', '/apps'), '/tenants/tnt_b/apps');
});

test('the chart is an image with a name and a description, a bar per value, and escapes labels', () => {
  const svg = stackedBarChart({
    id: 'c', title: 'Sign-ins <by day>', categories: ['2030-01-01', '2030-01-02'],
    series: [{ name: 'success', colour: '#0a0' }, { name: 'failure', colour: '#a00' }], values: [[3, 1], [0, 2]],
  });
  assert.match(svg, /role="img" aria-labelledby="c-t c-d"/);
  assert.match(svg, /<title id="c-t">Sign-ins &lt;by day&gt;<\/title>/);
  assert.match(svg, /in total 3 success, 3 failure/);
  assert.equal((svg.match(/<rect /g) ?? []).length, 3, 'no bar for a zero');
  assert.match(svg, /<title>2030-01-01: 3 success<\/title>/);
  assert.match(stackedBarChart({ id: 'e', title: 'Empty', categories: [], series: [], values: [] }), /No data in this period/);
});
