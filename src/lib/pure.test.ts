import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff.ts';
import { withoutHopByHop } from './http-headers.ts';
import { hostKey } from '../edge/proxy/routes.ts';
import { LinkTranslator } from '../edge/proxy/link-translation.ts';
import type { App } from '../store/types.ts';

test('backoff doubles up to the cap, with jitter in the upper half, and resets', () => {
  const seq = (r: number) => {
    const b = new Backoff({ baseMs: 100, maxMs: 1000, random: () => r });
    return Array.from({ length: 6 }, () => b.next());
  };
  assert.deepEqual(seq(0), [50, 100, 200, 400, 500, 500]);
  assert.deepEqual(seq(1), [100, 200, 400, 800, 1000, 1000]);
  const b = new Backoff({ baseMs: 100, maxMs: 1000, random: () => 1 });
  b.next();
  b.next();
  b.reset();
  assert.equal(b.next(), 100);
});

test('hop-by-hop headers, those named by Connection, and pseudo-headers are dropped', () => {
  const out = withoutHopByHop({
    ':path': '/',
    host: 'a',
    connection: 'keep-alive, x-secret',
    'keep-alive': 'timeout=5',
    'x-secret': '1',
    'transfer-encoding': 'chunked',
    te: 'trailers',
    upgrade: 'h2c',
    'proxy-authorization': 'Basic x',
    accept: '*/*',
    'set-cookie': ['a=1', 'b=2'],
  });
  assert.deepEqual(out, { accept: '*/*', 'set-cookie': ['a=1', 'b=2'] });
});

test('host keys are lower-case, without port or trailing dot; IPv6 literals keep their brackets', () => {
  assert.equal(hostKey('HR-Contoso.Apps.Example.com:8443'), 'hr-contoso.apps.example.com');
  assert.equal(hostKey('hr.example.com.'), 'hr.example.com');
  assert.equal(hostKey('[::1]:8443'), '[::1]');
  assert.equal(hostKey(undefined), '');
});

test('internal URLs in Location become external, base path included; others are left alone', () => {
  const app = {
    internalUrl: 'http://hr.corp.local:8080/hr/',
    externalUrl: 'https://hr-contoso.apps.example.com',
  } as App;
  const translateUrl = (value: string, a: App): string => new LinkTranslator([a]).translate(value);
  assert.equal(
    translateUrl('http://hr.corp.local:8080/hr/pay?x=1', app),
    'https://hr-contoso.apps.example.com/pay?x=1',
  );
  assert.equal(translateUrl('http://hr.corp.local:8080/hr', app), 'https://hr-contoso.apps.example.com');
  assert.equal(translateUrl('http://hr.corp.local:8080/hrx', app), 'http://hr.corp.local:8080/hrx');
  assert.equal(translateUrl('/relative', app), '/relative');
  assert.equal(translateUrl('https://elsewhere.example/', app), 'https://elsewhere.example/');
});

test('only plain paths without dot segments are forwardable', async () => {
  const { isForwardablePath } = await import('./request-target.ts');
  for (const ok of ['/', '/pay', '/a/b.c/d?x=../y', '/files/report..pdf', '/.well-known/x', '/a%2fb'])
    assert.ok(isForwardablePath(ok), ok);
  for (const bad of [
    '*',
    'http://evil/',
    '',
    'pay',
    '/../finance/',
    '/hr/..',
    '/%2e%2e/x',
    '/%2E./x',
    '/a/./b',
    '/a\\..\\b',
    '/a/%2e/b',
  ])
    assert.ok(!isForwardablePath(bad), bad);
});
