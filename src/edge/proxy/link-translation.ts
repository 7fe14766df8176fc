/**
 * Link translation (issue 14): internal URLs of any of a tenant's apps become their external URLs, in response headers
 * and, where an app enables it, in text bodies — streamed, never buffered whole.
 *
 * The body is scanned as latin1 text: one character per byte, so UTF-8 (and any ASCII-compatible charset) passes
 * through byte for byte and a multi-byte character split across chunks needs no care; URLs are ASCII. What a chunk
 * ends with that could still become a URL (a prefix of one, or a whole one whose next character decides whether it
 * ends there) is held back and scanned with the next chunk, so a URL split across chunks is translated all the same;
 * the most held back is one URL's length. Compressed bodies (gzip, deflate, br) are decoded, translated and
 * re-encoded with the same coding, flushed per chunk so a streamed page still streams.
 */
import { isTcpUrl } from '../../lib/tcp-target.ts';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { App } from '../../store/types.ts';

/** One URL form to find, and what it becomes. */
interface Pattern {
  /** Lower-case: scheme and host are case-insensitive (so, for simplicity, is a base path). */
  find: string;
  replace: string;
}

/** Characters that continue a host, port or path segment: a URL followed by one is another URL, left alone. */
const CONTINUES = new Uint8Array(128);
for (const c of 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%:@') CONTINUES[c.charCodeAt(0)] = 1;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * A tenant's internal → external URL map, compiled once per routing reload (routes.ts), shared by every response of
 * the tenant's apps.
 */
export class LinkTranslator {
  readonly #patterns: Pattern[];
  readonly #byFind: Map<string, string>;
  readonly #regex: RegExp;
  /** The longest pattern: at most this minus one characters are ever held back between chunks. */
  readonly maxLength: number;

  constructor(apps: readonly Pick<App, 'internalUrl' | 'externalUrl'>[]) {
    const byFind = new Map<string, string>();
    for (const app of apps) {
      // A TCP app has no links to translate (and `tcp:` URLs have the origin "null", which is not one).
      if (isTcpUrl(app.internalUrl)) continue;
      const external = app.externalUrl.replace(/\/+$/, '');
      for (const internal of internalForms(app.internalUrl)) {
        // JSON and JavaScript often escape the slash: http:\/\/host\/path.
        for (const [find, replace] of [
          [internal, external],
          [internal.replaceAll('/', '\\/'), external.replaceAll('/', '\\/')],
        ]) {
          if (!byFind.has(find)) byFind.set(find, replace);
        }
      }
    }
    // Longest first: an app published at a sub-path of another app's internal URL wins over it.
    this.#patterns = [...byFind]
      .map(([find, replace]) => ({ find, replace }))
      .sort((a, b) => b.find.length - a.find.length);
    this.#byFind = byFind;
    this.#regex =
      this.#patterns.length === 0
        ? /(?!)/g
        : new RegExp(this.#patterns.map((p) => escapeRegExp(p.find)).join('|'), 'gi');
    this.maxLength = Math.max(0, ...this.#patterns.map((p) => p.find.length));
  }

  get empty(): boolean {
    return this.#patterns.length === 0;
  }

  /** A whole value (a header): every internal URL in it translated. */
  translate(text: string): string {
    return this.scan(text, true).out;
  }

  /**
   * Translates what can be decided of `text`: `out` is the translated text up to `held`, from where the rest must wait
   * for more input (unless `final`). `changed` says whether `out` differs from `text.slice(0, held)`.
   */
  scan(text: string, final: boolean): { out: string; held: number; changed: boolean } {
    const len = text.length;
    if (this.#patterns.length === 0) return { out: text, held: len, changed: false };
    const regex = this.#regex;
    regex.lastIndex = 0;
    let out = '';
    let pos = 0;
    let held = -1;
    // Where a URL could start and still be incomplete: only the last maxLength - 1 characters.
    const tail = len - this.maxLength + 1;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) {
      const start = m.index;
      const end = start + m[0].length;
      if (!final && (end >= len || (start >= tail && this.#couldGrow(text, start)))) {
        held = start;
        break;
      }
      const next = end < len ? text.charCodeAt(end) : -1;
      if (next >= 0 && next < 128 && CONTINUES[next] === 1) {
        regex.lastIndex = start + 1;
        continue;
      }
      out += text.slice(pos, start) + this.#byFind.get(m[0].toLowerCase())!;
      pos = end;
    }
    if (held < 0) held = final ? len : this.#partialStart(text, Math.max(pos, tail));
    if (pos === 0) return { out: text.slice(0, held), held, changed: false };
    return { out: out + text.slice(pos, held), held, changed: true };
  }

  /** The first position from `from` where the rest of `text` is the beginning of some URL form; else its length. */
  #partialStart(text: string, from: number): number {
    for (let s = Math.max(0, from); s < text.length; s++) {
      const c = text.charCodeAt(s);
      if ((c === 104 || c === 72) /* h H */ && this.#couldGrow(text, s)) return s;
    }
    return text.length;
  }

  /** Whether text from `start` is a proper prefix of a (longer) URL form. */
  #couldGrow(text: string, start: number): boolean {
    const rest = text.slice(start).toLowerCase();
    return this.#patterns.some((p) => p.find.length > rest.length && p.find.startsWith(rest));
  }
}

/** The forms an internal URL is written in: as configured, and with its default port spelled out or left out. */
function internalForms(internalUrl: string): string[] {
  const url = new URL(internalUrl);
  const path = url.pathname.replace(/\/+$/, '');
  const forms = new Set([`${url.origin}${path}`.toLowerCase()]);
  if (url.port === '')
    forms.add(`${url.protocol}//${url.hostname}:${url.protocol === 'https:' ? 443 : 80}${path}`.toLowerCase());
  return [...forms];
}

// --- headers ---

/** Headers whose values carry URLs, translated wherever an internal URL appears in them. */
const URL_HEADERS = ['location', 'content-location', 'refresh', 'link'] as const;

/**
 * Translates URL-carrying response headers in place, and rewrites Set-Cookie for the external host: a Domain naming
 * the app's internal host (or a parent of it) is dropped, so the cookie is host-only on the external host (a parent
 * domain of the edge's host would share it with every other app), and a Path under the internal base path loses that
 * prefix.
 */
export function translateResponseHeaders(headers: OutgoingHttpHeaders, app: App, links: LinkTranslator): void {
  for (const name of URL_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') headers[name] = links.translate(value);
    else if (Array.isArray(value)) headers[name] = value.map((v: string) => links.translate(v)) as string[] & string;
  }
  const cookies = headers['set-cookie'];
  if (Array.isArray(cookies)) headers['set-cookie'] = cookies.map((c) => translateSetCookie(c, app));
  else if (typeof cookies === 'string') headers['set-cookie'] = translateSetCookie(cookies, app);
}

export function translateSetCookie(cookie: string, app: Pick<App, 'internalUrl'>): string {
  const internal = new URL(app.internalUrl);
  const host = internal.hostname.toLowerCase();
  const base = internal.pathname.replace(/\/+$/, '');
  const parts = cookie.split(';');
  const kept = [parts[0]];
  let changed = false;
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (name === 'domain') {
      const domain = value.toLowerCase().replace(/^\./, '');
      if (domain !== '' && (host === domain || host.endsWith(`.${domain}`))) {
        changed = true;
        continue;
      }
    } else if (name === 'path' && base !== '' && (value === base || value.startsWith(`${base}/`))) {
      kept.push(` Path=${value.slice(base.length) || '/'}`);
      changed = true;
      continue;
    }
    kept.push(part);
  }
  return changed ? kept.join(';') : cookie;
}

// --- bodies ---

/** Media types whose bodies are translated: HTML, CSS, JavaScript (its string literals carry the URLs) and JSON. */
const TEXT_TYPES = new Set([
  'text/html',
  'application/xhtml+xml',
  'text/css',
  'text/javascript',
  'application/javascript',
  'application/x-javascript',
  'application/ecmascript',
  'text/ecmascript',
  'application/json',
  'application/manifest+json',
]);
export type BodyCoding = 'identity' | 'gzip' | 'deflate' | 'br';
const CODINGS: Record<string, BodyCoding> = {
  '': 'identity',
  identity: 'identity',
  gzip: 'gzip',
  'x-gzip': 'gzip',
  deflate: 'deflate',
  br: 'br',
};

/**
 * Whether this response's body is translated, and in which content coding; null leaves it untouched: not a text type
 * named above, a charset that is not ASCII-compatible (UTF-16/32), a coding the edge cannot re-encode (zstd, several
 * codings), or a partial response (206: its bytes are offsets into the untranslated representation).
 */
export function bodyTranslation(headers: IncomingHttpHeaders, status: number): BodyCoding | null {
  if (status === 206 || status === 204 || status === 304 || status < 200) return null;
  const contentType = String(headers['content-type'] ?? '').toLowerCase();
  const [mime, ...params] = contentType.split(';').map((s) => s.trim());
  if (!TEXT_TYPES.has(mime) && !mime.endsWith('+json')) return null;
  if (params.some((p) => /^charset\s*=\s*"?(utf-?16|utf-?32|ucs-?2)/.test(p))) return null;
  const coding =
    CODINGS[
      String(headers['content-encoding'] ?? '')
        .trim()
        .toLowerCase()
    ];
  return coding ?? null;
}

/**
 * The response headers of a translated body: its length, digests and byte ranges no longer hold (the body may change
 * length), and a strong validator becomes weak (RFC 9110 §8.8.1: the bytes differ from the backend's), which also
 * keeps a client's If-Range from splicing backend bytes into it.
 */
export function translatedBodyHeaders(headers: OutgoingHttpHeaders): void {
  delete headers['content-length'];
  delete headers['content-md5'];
  delete headers['content-digest'];
  delete headers['repr-digest'];
  delete headers['digest'];
  delete headers['accept-ranges'];
  const etag = headers.etag;
  if (typeof etag === 'string' && !etag.startsWith('W/')) headers.etag = `W/${etag}`;
}

/**
 * The streaming translation of a body in `coding`, as the transforms to pipe it through in order: decoded,
 * translated, encoded again.
 */
export function createBodyTranslator(links: LinkTranslator, coding: BodyCoding): Transform[] {
  const text = new TextTranslation(links);
  switch (coding) {
    case 'identity':
      return [text];
    // SYNC_FLUSH after every chunk: a page the backend streams reaches the browser as it comes, not when zlib's buffer fills.
    case 'gzip':
      return [zlib.createGunzip(), text, zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH })];
    case 'deflate':
      return [zlib.createInflate(), text, zlib.createDeflate({ flush: zlib.constants.Z_SYNC_FLUSH })];
    case 'br':
      return [
        zlib.createBrotliDecompress(),
        text,
        zlib.createBrotliCompress({
          flush: zlib.constants.BROTLI_OPERATION_FLUSH,
          params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 }, // the default 11 costs far more CPU than a proxy can spend per byte
        }),
      ];
  }
}

/** The translation of a decoded body, chunk by chunk; holds back at most one URL's length between chunks. */
export class TextTranslation extends Transform {
  readonly #links: LinkTranslator;
  #carry = '';

  constructor(links: LinkTranslator) {
    super();
    this.#links = links;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const carried = this.#carry;
    const text = carried + chunk.toString('latin1');
    const { out, held, changed } = this.#links.scan(text, false);
    this.#carry = text.slice(held);
    // Nothing translated and nothing carried in: the chunk's own bytes go on, without re-encoding them.
    if (!changed && carried === '') {
      if (held > 0) this.push(held === chunk.length ? chunk : chunk.subarray(0, held));
    } else if (out !== '') {
      this.push(Buffer.from(out, 'latin1'));
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#carry !== '') this.push(Buffer.from(this.#links.translate(this.#carry), 'latin1'));
    this.#carry = '';
    done();
  }
}
