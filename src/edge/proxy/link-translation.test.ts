import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { App } from '../../store/types.ts';
import {
  LinkTranslator,
  bodyTranslation,
  createBodyTranslator,
  translateSetCookie,
  translatedBodyHeaders,
  type BodyCoding,
} from './link-translation.ts';
import { buildResponseHeaders } from './response-headers.ts';

const apps = [
  { internalUrl: 'http://127.0.0.1:4001', externalUrl: 'https://sample-contoso.apps.localhost:8443' },
  { internalUrl: 'http://hr.corp.local/hr/', externalUrl: 'https://hr-contoso.apps.localhost:8443' },
];
const links = new LinkTranslator(apps);

const PAGE = [
  '<a href="http://127.0.0.1:4001/echo?x=1">echo</a>',
  '<a href="http://HR.corp.local/hr/pay">pay</a> <a href="http://hr.corp.local/hr">home</a>',
  '<a href="http://hr.corp.local/hrx">not hr</a> <a href="http://127.0.0.1:40011/">other port</a> <a href="http://127.0.0.1:4001.evil/">not ours</a>',
  '<style>body{background:url(http://127.0.0.1:4001/bg.png)}</style>',
  '<script>const api = "http://hr.corp.local:80/hr/api"; const j = {"u":"http:\\/\\/127.0.0.1:4001\\/j"};</script>',
  'ends with http://127.0.0.1:4001',
].join('\n');
const EXPECTED = [
  '<a href="https://sample-contoso.apps.localhost:8443/echo?x=1">echo</a>',
  '<a href="https://hr-contoso.apps.localhost:8443/pay">pay</a> <a href="https://hr-contoso.apps.localhost:8443">home</a>',
  '<a href="http://hr.corp.local/hrx">not hr</a> <a href="http://127.0.0.1:40011/">other port</a> <a href="http://127.0.0.1:4001.evil/">not ours</a>',
  '<style>body{background:url(https://sample-contoso.apps.localhost:8443/bg.png)}</style>',
  '<script>const api = "https://hr-contoso.apps.localhost:8443/api"; const j = {"u":"https:\\/\\/sample-contoso.apps.localhost:8443\\/j"};</script>',
  'ends with https://sample-contoso.apps.localhost:8443',
].join('\n');

async function run(chunks: Buffer[], coding: BodyCoding): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      out.push(chunk);
      done();
    },
  });
  await pipeline([Readable.from(chunks), ...createBodyTranslator(links, coding), sink]);
  return Buffer.concat(out);
}

test("whole values: every internal URL of the tenant's apps, and only those, becomes external", () => {
  assert.equal(links.translate(PAGE), EXPECTED);
  assert.equal(links.translate('/relative'), '/relative');
  assert.equal(new LinkTranslator([]).translate(PAGE), PAGE);
});

test('a URL split at every byte boundary is still translated, multi-byte characters intact', async () => {
  const body = Buffer.from(`café ${PAGE} ünïcødé`);
  const expected = `café ${EXPECTED} ünïcødé`;
  for (let cut = 0; cut <= body.length; cut++) {
    const got = await run([body.subarray(0, cut), body.subarray(cut)], 'identity');
    assert.equal(got.toString(), expected, `cut at ${cut}`);
  }
  // One byte per chunk: everything split everywhere.
  const bytes = [...body].map((b) => Buffer.from([b]));
  assert.equal((await run(bytes, 'identity')).toString(), expected);
});

test('compressed bodies are decoded, translated and re-encoded in the same coding', async () => {
  const body = Buffer.from(PAGE);
  const codings: [BodyCoding, (b: Buffer) => Buffer, (b: Buffer) => Buffer][] = [
    ['gzip', zlib.gzipSync, zlib.gunzipSync],
    ['deflate', zlib.deflateSync, zlib.inflateSync],
    ['br', zlib.brotliCompressSync, zlib.brotliDecompressSync],
  ];
  for (const [coding, encode, decode] of codings) {
    const compressed = encode(body);
    // Compressed bytes in small chunks: the split falls inside URLs once decoded, too.
    const chunks: Buffer[] = [];
    for (let i = 0; i < compressed.length; i += 7) chunks.push(compressed.subarray(i, i + 7));
    assert.equal(decode(await run(chunks, coding)).toString(), EXPECTED, coding);
  }
});

test('which bodies are translated: text types in a coding the edge can re-encode, never partial content', () => {
  assert.equal(bodyTranslation({ 'content-type': 'text/html; charset=utf-8' }, 200), 'identity');
  assert.equal(bodyTranslation({ 'content-type': 'text/css', 'content-encoding': 'gzip' }, 200), 'gzip');
  assert.equal(bodyTranslation({ 'content-type': 'application/javascript', 'content-encoding': 'br' }, 200), 'br');
  assert.equal(bodyTranslation({ 'content-type': 'application/problem+json' }, 404), 'identity');
  assert.equal(bodyTranslation({ 'content-type': 'image/png' }, 200), null);
  assert.equal(bodyTranslation({ 'content-type': 'application/octet-stream' }, 200), null);
  assert.equal(bodyTranslation({}, 200), null);
  assert.equal(bodyTranslation({ 'content-type': 'text/html', 'content-encoding': 'zstd' }, 200), null);
  assert.equal(bodyTranslation({ 'content-type': 'text/html', 'content-encoding': 'gzip, br' }, 200), null);
  assert.equal(bodyTranslation({ 'content-type': 'text/html; charset=UTF-16' }, 200), null);
  assert.equal(bodyTranslation({ 'content-type': 'text/html' }, 206), null);
  assert.equal(bodyTranslation({ 'content-type': 'text/html' }, 304), null);
});

test('a translated body loses its length, digests and byte ranges; its strong ETag turns weak', () => {
  const headers = {
    'content-length': '42',
    'accept-ranges': 'bytes',
    etag: '"abc"',
    'content-type': 'text/html',
    'content-md5': 'x',
  };
  translatedBodyHeaders(headers);
  assert.deepEqual(headers, { etag: 'W/"abc"', 'content-type': 'text/html' });
  const weak = { etag: 'W/"abc"' };
  translatedBodyHeaders(weak);
  assert.equal(weak.etag, 'W/"abc"');
});

test("a non-text body passes through the proxy's header step with its length", () => {
  const app = { ...apps[0], linkTranslation: { headers: true, body: true }, hsts: null } as App;
  const out = buildResponseHeaders(
    { ':status': '200', 'content-type': 'image/png', 'content-length': '10' },
    app,
    links,
  );
  assert.equal(bodyTranslation({ 'content-type': 'image/png' }, 200), null);
  assert.equal(out['content-length'], '10');
});

test("headers: Location, Content-Location, Refresh and Link of any of the tenant's apps; Set-Cookie fitted to the external host", () => {
  const app = { ...apps[1], linkTranslation: { headers: true, body: false }, hsts: null } as App;
  const out = buildResponseHeaders(
    {
      ':status': '302',
      location: 'http://127.0.0.1:4001/echo',
      'content-location': 'http://hr.corp.local/hr/doc',
      refresh: '5; url=http://hr.corp.local/hr/next',
      link: '<http://127.0.0.1:4001/style.css>; rel=preload, <https://cdn.example/x.js>; rel=preload',
      'set-cookie': [
        'a=1; Domain=hr.corp.local; Path=/hr/app; HttpOnly',
        'b=2; domain=.corp.local; path=/hr',
        'c=3; Domain=other.example; Path=/elsewhere',
      ],
    },
    app,
    links,
  );
  assert.equal(out.location, 'https://sample-contoso.apps.localhost:8443/echo');
  assert.equal(out['content-location'], 'https://hr-contoso.apps.localhost:8443/doc');
  assert.equal(out.refresh, '5; url=https://hr-contoso.apps.localhost:8443/next');
  assert.equal(
    out.link,
    '<https://sample-contoso.apps.localhost:8443/style.css>; rel=preload, <https://cdn.example/x.js>; rel=preload',
  );
  assert.deepEqual(out['set-cookie'], [
    'a=1; Path=/app; HttpOnly',
    'b=2; Path=/',
    'c=3; Domain=other.example; Path=/elsewhere',
  ]);
  // Header translation off: left as the backend sent it.
  const off = buildResponseHeaders(
    { ':status': '302', location: 'http://127.0.0.1:4001/echo' },
    { ...app, linkTranslation: { headers: false, body: false } },
    links,
  );
  assert.equal(off.location, 'http://127.0.0.1:4001/echo');
  assert.equal(translateSetCookie('s=1; Path=/', app), 's=1; Path=/');
});

test("HSTS: the app's setting, over whatever the backend sent", () => {
  const app = {
    ...apps[0],
    linkTranslation: { headers: true, body: false },
    hsts: { maxAge: 600, includeSubDomains: true },
  } as App;
  assert.equal(
    buildResponseHeaders({ ':status': '200', 'strict-transport-security': 'max-age=1' }, app, links)[
      'strict-transport-security'
    ],
    'max-age=600; includeSubDomains',
  );
  assert.equal(
    buildResponseHeaders({ ':status': '200' }, { ...app, hsts: null }, links)['strict-transport-security'],
    undefined,
  );
});

test('a TCP app adds nothing to translate: its tcp:// URL has no origin, and "null" in a body stays as it is', () => {
  const withTcp = new LinkTranslator([
    ...apps,
    { internalUrl: 'tcp://127.0.0.1:22', externalUrl: 'https://ssh-contoso.apps.example' },
  ]);
  const body = '{"manager":null,"home":"http://hr.corp.local/"}';
  assert.equal(withTcp.translate(body), links.translate(body));
  assert.ok(withTcp.translate(body).includes('"manager":null'));
});
