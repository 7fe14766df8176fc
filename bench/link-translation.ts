/**
 * Link translation's cost (issue 14): MB/s of response body through edge/proxy/link-translation.ts, in-process, one
 * core, 16 KiB chunks as they come off a tunnel stream. `npm run bench -- --only=link-translation` (or
 * `node bench/link-translation.ts`). Four bodies, each against the same bytes passed through untouched:
 *   html, links     a page with an internal URL about every 200 bytes (the sample app's /links, repeated)
 *   html, no links  the same size of text with no URL at all (what most pages of an app are)
 *   gzip, links     the links page gzip-compressed: decode + translate + encode, against decode + encode alone
 * MB/s are 10^6 bytes of decoded body per second. Figures, never assertions.
 */
import { performance } from 'node:perf_hooks';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { LinkTranslator, createBodyTranslator } from '../src/edge/proxy/link-translation.ts';

const CHUNK = 16 * 1024;
const apps = [
  { internalUrl: 'http://127.0.0.1:4001', externalUrl: 'https://sample-contoso.apps.localhost:8443' },
  { internalUrl: 'http://hr.corp.local:8080/hr', externalUrl: 'https://hr-contoso.apps.localhost:8443' },
  { internalUrl: 'http://wiki.corp.local', externalUrl: 'https://wiki-contoso.apps.localhost:8443' },
];
const links = new LinkTranslator(apps);

function page(bytes: number, withLinks: boolean): Buffer {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const base = apps[i % apps.length].internalUrl;
    const line = withLinks
      ? `<li><a href="${base}/docs/page-${i}.html?ref=nav">Page ${i}</a> <span class="note">some text around the link, as pages have</span></li>\n`
      : `<li><a href="/docs/page-${i}.html?ref=nav">Page ${i}</a> <span class="note">some text around the link, as pages have, ok</span></li>\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join(''));
}

function chunks(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += CHUNK) out.push(body.subarray(i, i + CHUNK));
  return out;
}

/** Pushes `input` through `steps` `rounds` times after two warm-up rounds; the median round's MB/s of `decodedBytes`. */
async function throughput(
  input: Buffer[],
  decodedBytes: number,
  steps: () => Transform[],
  rounds: number,
): Promise<number> {
  const once = async (): Promise<number> => {
    const start = performance.now();
    await pipeline([
      Readable.from(input),
      ...steps(),
      new Writable({
        write(_c, _e, done) {
          done();
        },
      }),
    ]);
    return performance.now() - start;
  };
  await once();
  await once();
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) times.push(await once());
  times.sort((a, b) => a - b);
  return decodedBytes / (times[Math.floor(times.length / 2)] / 1000) / 1e6;
}

export interface LinkTranslationFigures {
  rows: { body: string; untouchedMBps: number; translatedMBps: number }[];
}

export async function benchLinkTranslation(quick = false): Promise<LinkTranslationFigures> {
  const size = 4 * 1024 * 1024;
  const rounds = quick ? 5 : 15;
  const withLinks = page(size, true);
  const noLinks = page(size, false);
  const gz = zlib.gzipSync(withLinks);
  const passThrough = (): Transform[] => [];
  const rows: LinkTranslationFigures['rows'] = [];
  for (const [body, input] of [
    ['html, links', withLinks],
    ['html, no links', noLinks],
  ] as const) {
    rows.push({
      body,
      untouchedMBps: await throughput(chunks(input), input.length, passThrough, rounds),
      translatedMBps: await throughput(
        chunks(input),
        input.length,
        () => createBodyTranslator(links, 'identity'),
        rounds,
      ),
    });
  }
  rows.push({
    body: 'gzip, links',
    // The fair baseline for a compressed body: what decoding and re-encoding alone cost.
    untouchedMBps: await throughput(
      chunks(gz),
      withLinks.length,
      () => [zlib.createGunzip(), zlib.createGzip({ flush: zlib.constants.Z_SYNC_FLUSH })],
      rounds,
    ),
    translatedMBps: await throughput(chunks(gz), withLinks.length, () => createBodyTranslator(links, 'gzip'), rounds),
  });
  return { rows };
}

export function linkTranslationTable(f: LinkTranslationFigures): string {
  const lines = ['| body | untouched MB/s | translated MB/s |', '| --- | --- | --- |'];
  for (const r of f.rows) lines.push(`| ${r.body} | ${r.untouchedMBps.toFixed(0)} | ${r.translatedMBps.toFixed(0)} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchLinkTranslation(process.argv.includes('--quick'));
  process.stdout.write(
    `Link translation (16 KiB chunks, one core; "untouched" for gzip = decode + re-encode only)\n\n${linkTranslationTable(figures)}\n`,
  );
}
