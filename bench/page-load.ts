/**
 * Page-load time over a WAN (issue 14): Debian's Chromium loads a page with 60 assets (20 CSS, 20 JavaScript,
 * 20 SVG images, a few KiB each) through the edge, the browser's connections crossing the delay relay (10 ms each
 * way, so a 20 ms round trip between browser and edge), with HTTP/2 forced off (`--disable-http2`) and on.
 *
 * Chromium keeps the app's name for Host and SNI and connects to the relay through `--host-resolver-rules` (MAP
 * <app host>:<edge port> 127.0.0.1:<relay port>). Each load is a fresh browser context (empty cache, new
 * connections, so TCP + TLS set-up over the 20 ms link count); the figure is the navigation's `loadEventEnd` (ms
 * from the start of navigation to the end of the load event), the median of the runs. Figures, never assertions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../test/helpers/chromium.ts';

export const ASSETS_PER_KIND = 20;
const ASSET_BYTES = 4 * 1024;

/** Pads `head` + `tail` with `filler` lines to about `bytes`. */
function padded(head: string, filler: (i: number) => string, tail: string, bytes: number): string {
  const parts = [head];
  let size = head.length + tail.length;
  for (let i = 0; size < bytes; i++) {
    const line = filler(i);
    parts.push(line);
    size += line.length;
  }
  parts.push(tail);
  return parts.join('');
}

/** Writes `<root>/page/index.html` and its 60 assets; returns the page's path on the backend. */
export function writePage(root: string): string {
  const dir = join(root, 'page');
  mkdirSync(dir, { recursive: true });
  const links: string[] = [];
  const scripts: string[] = [];
  const images: string[] = [];
  for (let n = 0; n < ASSETS_PER_KIND; n++) {
    writeFileSync(
      join(dir, `style-${n}.css`),
      padded(
        '',
        (i) =>
          `.c${n}-${i} { margin: ${i % 7}px; color: #${(n * 4099 + i * 37).toString(16).padStart(6, '0').slice(-6)}; }\n`,
        '',
        ASSET_BYTES,
      ),
    );
    writeFileSync(
      join(dir, `script-${n}.js`),
      padded(`window.loaded${n} = [];\n`, (i) => `window.loaded${n}.push(${i} * ${n + 1});\n`, '', ASSET_BYTES),
    );
    writeFileSync(
      join(dir, `image-${n}.svg`),
      padded(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">\n',
        (i) =>
          `<rect x="${i % 64}" y="${(i * 7) % 64}" width="2" height="2" fill="#${(n * 31 + i).toString(16).padStart(3, '0').slice(-3)}"/>\n`,
        '</svg>\n',
        ASSET_BYTES,
      ),
    );
    links.push(`<link rel="stylesheet" href="style-${n}.css">`);
    scripts.push(`<script src="script-${n}.js"></script>`);
    images.push(`<img src="image-${n}.svg" width="64" height="64" alt="">`);
  }
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>60 assets</title>\n${links.join('\n')}\n</head>\n<body><h1>A page with ${3 * ASSETS_PER_KIND} assets</h1>\n${images.join('\n')}\n${scripts.join('\n')}\n</body></html>\n`,
  );
  return '/page/index.html';
}

export interface PageLoadMode {
  /** 'h2' or 'http/1.1': the protocol Chromium reported for the page and every asset (nextHopProtocol). */
  protocols: string[];
  /** loadEventEnd of each measured load, ms. */
  runsMs: number[];
  medianMs: number;
  /** Assets the browser fetched per load (60 expected). */
  assets: number;
}

export interface PageLoadFigures {
  url: string;
  rttMs: number;
  runs: number;
  http1: PageLoadMode;
  http2: PageLoadMode;
  /** The same straight to the edge on loopback (no relay): the part of the time that is not round trips. */
  loopback?: { http1: PageLoadMode; http2: PageLoadMode };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** One page load in a fresh context of `browser`: the load event (ms), the protocols seen, the assets fetched. */
async function loadOnce(browser: Browser, url: string): Promise<{ load: number; protocols: string[]; assets: number }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  try {
    const page = await context.newPage();
    const response = await page.goto(url, { waitUntil: 'load', timeout: 60_000 });
    if (!response || response.status() !== 200) throw new Error(`${url}: status ${response?.status()}`);
    // Runs in the page (a string: this project's TypeScript has no DOM types).
    return (await page.evaluate(`(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const resources = performance.getEntriesByType('resource');
      return { load: nav.loadEventEnd, protocols: [nav.nextHopProtocol, ...resources.map((e) => e.nextHopProtocol)], assets: resources.length };
    })()`)) as { load: number; protocols: string[]; assets: number };
  } finally {
    await context.close();
  }
}

/**
 * HTTP/1.1 (`--disable-http2`, a browser of its own: the flag is browser-wide) and HTTP/2, `runs` loads each after
 * one warm-up load (Chromium's start-up, the edge's first handshakes), alternating between the two so that a change
 * in the machine's load touches both alike. `connectTo` is where the app's host:port really is.
 */
async function pair(
  url: string,
  connectTo: string,
  runs: number,
): Promise<{ http1: PageLoadMode; http2: PageLoadMode }> {
  const u = new URL(url);
  const launch = (http2: boolean): Promise<Browser> =>
    launchChromium([
      `--host-resolver-rules=MAP ${u.hostname}:${u.port} ${connectTo}`,
      ...(http2 ? [] : ['--disable-http2']),
    ]);
  const browsers: Browser[] = [];
  try {
    browsers.push(await launch(false), await launch(true));
    const modes = browsers.map(() => ({ protocols: new Set<string>(), runsMs: [] as number[], assets: 0 }));
    for (let r = 0; r <= runs; r++) {
      for (let b = 0; b < browsers.length; b++) {
        const t = await loadOnce(browsers[b], url);
        if (r === 0) continue;
        modes[b].runsMs.push(t.load);
        for (const p of t.protocols) modes[b].protocols.add(p);
        modes[b].assets = t.assets;
      }
    }
    const done = (m: (typeof modes)[number]): PageLoadMode => ({
      protocols: [...m.protocols],
      runsMs: m.runsMs,
      medianMs: median(m.runsMs),
      assets: m.assets,
    });
    return { http1: done(modes[0]), http2: done(modes[1]) };
  } finally {
    for (const b of browsers) await b.close();
  }
}

/**
 * The page through the relay (`relayAt`, the figure), then straight to the edge (`edgeAt`, loopback: what the
 * browser, the edge and the machine cost without the round trips).
 */
export async function measurePageLoad(
  url: string,
  relayAt: string,
  edgeAt: string,
  rttMs: number,
  runs: number,
): Promise<PageLoadFigures> {
  const relayed = await pair(url, relayAt, runs);
  const loopback = await pair(url, edgeAt, runs);
  return { url, rttMs, runs, ...relayed, loopback };
}

export function pageLoadTable(f: PageLoadFigures): string {
  const row = (link: string, label: string, m: PageLoadMode): string =>
    `| ${link} | ${label} | ${m.protocols.join(', ')} | ${m.medianMs.toFixed(0)} | ${m.runsMs.map((v) => v.toFixed(0)).join(', ')} | ${m.assets} |`;
  const ratio = (a: PageLoadMode, b: PageLoadMode): string => (a.medianMs / b.medianMs).toFixed(2);
  const relay = `${f.rttMs} ms round trip (relay)`;
  const lines = [
    '| link | Chromium | protocol seen | load event, median ms | each run, ms | assets |',
    '| --- | --- | --- | ---: | --- | ---: |',
    row(relay, '`--disable-http2`', f.http1),
    row(relay, 'HTTP/2 allowed', f.http2),
  ];
  if (f.loopback)
    lines.push(
      row('loopback (no relay)', '`--disable-http2`', f.loopback.http1),
      row('loopback (no relay)', 'HTTP/2 allowed', f.loopback.http2),
    );
  lines.push(
    '',
    `Over the ${f.rttMs} ms round trip, HTTP/1.1 ÷ HTTP/2: **${ratio(f.http1, f.http2)} ×**${f.loopback ? ` (on loopback: ${ratio(f.loopback.http1, f.loopback.http2)} ×)` : ''}.`,
  );
  return lines.join('\n');
}
