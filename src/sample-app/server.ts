import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { createGzip, gzipSync } from 'node:zlib';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { serveHttp1, originalMethod } from '../lib/http1/extension-methods.ts';
import { escapeHtml, page } from '../errors/render.ts';
import { signedInUserCheck, type AssertionOptions, type UserCheck } from './signed-in-user.ts';

/**
 * The demo's "internal app": what an intranet service looks like from behind the connector.
 *   GET /          an HTML page naming itself and showing what the proxy sent, and who is signed in when the edge
 *                  vouches for them with a signed assertion (`assertion` options; see signed-in-user.ts)
 *   ANY /echo      JSON: method, path, headers, body length and SHA-256
 *   GET /bytes/N   N bytes, streamed in 64 KiB chunks; byte i is the same on every request (Range, If-Range, ETag)
 *   GET /ws        WebSocket echo (/ws/slow/N: the handshake answered after N seconds)
 *   ANY /slow/S    answers after S seconds
 *   GET /gzip      a gzip-compressed text (Content-Encoding: gzip), to show bodies pass through untouched
 *   GET /links     an HTML page full of absolute internal links — its own and the other apps' (`links` option) — in
 *                  HTML attributes, CSS and JavaScript string literals, plus a Link header: what link translation is
 *                  for. Chunked, gzip-compressed when the client accepts it, sent in parts with a pause between them
 *                  and each part cut in the middle of a URL, so a URL always straddles two chunks.
 */
export interface SampleApp {
  port: number;
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, 'drawbridge ');

export interface SampleAppOptions {
  host?: string;
  port?: number;
  name?: string;
  assertion?: AssertionOptions;
  /** Other apps' internal URLs by name, linked from /links (this app's own, `self`, is added: http://host:port). */
  links?: Record<string, string>;
}

export async function startSampleApp(options: SampleAppOptions = {}): Promise<SampleApp> {
  const name = options.name ?? 'Contoso Intranet';
  const signedInUser = signedInUserCheck(options.assertion);
  const serverOptions = { keepAliveTimeout: 65_000, requestTimeout: 0 };
  const server = http.createServer(serverOptions);
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://sample');
    const [, first, arg] = url.pathname.split('/');
    if (url.pathname === '/') return void home(req, res, name, signedInUser);
    if (first === 'echo') return echo(req, res);
    if (first === 'bytes' && req.method === 'GET') return bytes(req, res, Number(arg));
    if (first === 'slow') return slow(req, res, Number(arg));
    if (first === 'gzip' && req.method === 'GET') return gzipped(res);
    if (url.pathname === '/links' && (req.method === 'GET' || req.method === 'HEAD'))
      return linksPage(req, res, { self: selfUrl(), ...options.links });
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  };
  const wss = new WebSocketServer({ noServer: true });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // /ws echoes; /ws/slow/N answers the handshake after N seconds (to show failover before the 101).
    const slow = /^\/ws\/slow\/(\d+(?:\.\d+)?)$/.exec(new URL(req.url ?? '/', 'http://sample').pathname);
    if (new URL(req.url ?? '/', 'http://sample').pathname !== '/ws' && !slow) return void socket.destroy();
    if (slow) {
      socket.on('error', () => {});
      setTimeout(() => {
        if (!socket.destroyed) accept();
      }, Number(slow[1]) * 1000);
    } else {
      accept();
    }
    function accept(): void {
      wss.handleUpgrade(req, socket, head, (ws) => {
        // A malformed frame (RSV1 set, bad opcode, bad UTF-8…) is an 'error' on this socket, after ws has sent the close
        // frame with the error's code (1002 protocol error, 1007, 1009…). Unhandled, it killed the whole app.
        ws.on('error', (err) => console.warn(`websocket closed on a protocol error: ${err.message}`));
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      });
    }
  };
  // Like the edge, the app takes any method token (RD Gateway's RDG_OUT_DATA …), so /echo shows what arrived.
  serveHttp1(server, 'connection', {
    handler,
    onUpgrade,
    serverOptions,
    maxHeadBytes: 16 * 1024,
    refuse: (socket) => socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n'),
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  function selfUrl(): string {
    const host = options.host ?? '127.0.0.1';
    return `http://${host.includes(':') ? `[${host}]` : host}:${(server.address() as { port: number }).port}`;
  }
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function home(req: IncomingMessage, res: ServerResponse, name: string, signedInUser: UserCheck): Promise<void> {
  const user = await signedInUser(req);
  const who =
    user === null
      ? ''
      : 'error' in user
        ? `<p class="notice">Drawbridge's signed assertion did not verify (${escapeHtml(user.error)}): nobody is signed in here.</p>`
        : `<p class="notice">Signed in as <strong>${escapeHtml(user.upn)}</strong>${user.groups.length ? ` · groups: ${escapeHtml(user.groups.join(', '))}` : ''}. Drawbridge vouched for you with an assertion it signed, checked against its published keys; this app never saw a password.</p>`;
  const rows = Object.entries(req.headers)
    .map(([k, v]) => `<tr><th scope="row">${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`)
    .join('');
  const body = page(
    name,
    `<style>
  .received { width: 100%; border-collapse: collapse; table-layout: fixed; font-size: .875rem; }
  .received caption { text-align: left; font-weight: 600; margin: 24px 0 8px; }
  .received th, .received td { padding: 6px 8px; border-top: 1px solid var(--line); text-align: left; vertical-align: top; overflow-wrap: anywhere; }
  .received th { width: 38%; color: var(--muted); font-weight: 500; }
</style>
<main class="card" role="main"><p class="status">Internal application</p><h1>${escapeHtml(name)}</h1>
${who}
<p>You reached this internal app through Drawbridge: the request crossed the edge, an outbound tunnel and a connector.</p>
<table class="received"><caption>What the app received</caption>${rows}</table></main>`,
  );
  res
    .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) })
    .end(body);
}

function echo(req: IncomingMessage, res: ServerResponse): void {
  const hash = createHash('sha256');
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    length += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    const method = originalMethod(req);
    const body = JSON.stringify({
      method,
      path: req.url,
      headers: req.headers,
      bodyLength: length,
      bodySha256: hash.digest('hex'),
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  });
}

function bytes(req: IncomingMessage, res: ServerResponse, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    res.writeHead(400, { 'content-type': 'text/plain' }).end('bad size\n');
    return;
  }
  // Byte i is CHUNK[i % CHUNK.length] whatever the request, so ranges of it line up: a resumable download.
  const etag = `"bytes-${n}"`;
  const headers = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes', etag };
  const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
  const ifRange = req.headers['if-range'];
  let start = 0;
  let end = n - 1;
  if (range && (ifRange === undefined || ifRange === etag)) {
    start = Number(range[1]);
    end = range[2] === '' ? n - 1 : Math.min(Number(range[2]), n - 1);
    if (start > end) {
      res.writeHead(416, { 'content-range': `bytes */${n}` }).end();
      return;
    }
    res.writeHead(206, {
      ...headers,
      'content-length': end - start + 1,
      'content-range': `bytes ${start}-${end}/${n}`,
    });
  } else {
    res.writeHead(200, { ...headers, 'content-length': n });
  }
  let at = start;
  const pump = (): void => {
    while (at <= end) {
      const offset = at % CHUNK.length;
      const size = Math.min(end - at + 1, CHUNK.length - offset);
      at += size;
      if (!res.write(offset === 0 && size === CHUNK.length ? CHUNK : CHUNK.subarray(offset, offset + size))) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

function slow(req: IncomingMessage, res: ServerResponse, seconds: number): void {
  req.resume();
  const timer = setTimeout(
    () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} answered after ${seconds} s\n`),
    Math.max(0, seconds) * 1000,
  );
  res.once('close', () => clearTimeout(timer));
}

const GZIPPED = gzipSync(Buffer.from('Drawbridge passes compressed bodies through untouched.\n'.repeat(1000)));

function gzipped(res: ServerResponse): void {
  res
    .writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-encoding': 'gzip',
      'content-length': GZIPPED.length,
    })
    .end(GZIPPED);
}

/** The page of /links: every link absolute, to this app and the others, in the places a translator has to look. */
export function linksHtml(links: Record<string, string>): string {
  const apps = Object.entries(links).map(([name, base]) => [name, base.replace(/\/+$/, '')] as const);
  const items = apps
    .map(
      ([name, base]) => `<li><strong>${escapeHtml(name)}</strong>:
  <a href="${base}/">home</a> · <a href="${base}/echo?from=links&amp;n=1">echo</a> · <a href='${base}/bytes/16'>16 bytes</a>
  · <img alt="" src="${base}/echo?img=1" width="1" height="1"> <code>${base}/</code></li>`,
    )
    .join('\n');
  const css = apps
    .map(
      ([name, base], i) =>
        `.bg-${i} { background-image: url(${base}/echo?css=${encodeURIComponent(name)}); } @import url("${base}/echo?import=1");`,
    )
    .join('\n');
  const script = `const internal = {${apps.map(([name, base]) => `\n  ${JSON.stringify(name)}: { home: "${base}/", api: '${base}/echo', escaped: "${base.replaceAll('/', '\\/')}\\/echo" }`).join(',')}\n};`;
  return page(
    'Internal links',
    `<style>${css}</style>
<main class="card" role="main"><p class="status">Link translation</p><h1>Internal links</h1>
<p>Every link on this page was written with an internal URL, as an intranet app writes them. Through Drawbridge with
link translation on, each one points at the app's external URL instead.</p>
<ul>${items}</ul>
<form action="${apps[0]?.[1] ?? ''}/echo" method="post"><button>Post to echo</button></form>
</main>
<script>${script}</script>`,
  );
}

function linksPage(req: IncomingMessage, res: ServerResponse, links: Record<string, string>): void {
  const html = linksHtml(links);
  // Cut points in the middle of the first URL of each app: every part boundary falls inside a URL.
  const cuts = Object.values(links)
    .map((base) => html.indexOf(base.replace(/\/+$/, '')) + Math.floor(base.length / 2))
    .filter((at) => at > 0)
    .sort((a, b) => a - b);
  const parts = [0, ...cuts, html.length].slice(1).map((end, i, ends) => html.slice(i === 0 ? 0 : ends[i - 1], end));
  const gzip = /\bgzip\b/i.test(String(req.headers['accept-encoding'] ?? ''));
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    vary: 'accept-encoding',
    link: Object.values(links)
      .map((base) => `<${base.replace(/\/+$/, '')}/echo?preload=1>; rel=preload; as=fetch`)
      .join(', '),
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  if (req.method === 'HEAD') return void res.end();
  const out = gzip ? createGzip() : null;
  out?.pipe(res);
  let i = 0;
  const next = (): void => {
    if (res.destroyed) return;
    const part = parts[i++];
    if (i === parts.length) return void (out ? out.end(part) : res.end(part));
    // Flushed and paused: each part leaves as its own chunk (and its own gzip block).
    if (out) out.write(part, () => out.flush(() => setTimeout(next, 30)));
    else res.write(part, () => setTimeout(next, 30));
  };
  next();
}
