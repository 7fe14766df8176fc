/**
 * Server-side SVG bar charts for the security reports: no library and no script (node_modules holds no chart
 * library; Chart.js or uPlot would be the one to add for interactive charts). Accessible: the SVG is an image with
 * a title and a description summarising the data, every bar has its own title (a tooltip, read by screen readers),
 * colours come with a legend, and the page puts the same numbers in a table beside the chart.
 */
import { escapeHtml as e } from '../../errors/render.ts';

export interface Series {
  name: string;
  colour: string;
}

export interface StackedBars {
  title: string;
  /** One bar per category (a day, a code), stacked by series. */
  categories: string[];
  series: Series[];
  /** values[category][series] */
  values: number[][];
  id: string;
}

const W = 760;
const HEIGHT = 260;
const PAD = { left: 96, right: 12, top: 12, bottom: 56 };

/** A round step (1, 2, 5 × 10^n) so that four steps reach at least `n`. */
function niceStep(n: number): number {
  const raw = Math.max(1, n / 4);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

export function stackedBarChart(c: StackedBars): string {
  const totals = c.values.map((row) => row.reduce((a, b) => a + b, 0));
  const step = niceStep(Math.max(0, ...totals));
  const max = step * 4;
  // Room below the axis for the longest label, written at an angle.
  const longest = Math.max(0, ...c.categories.map((x) => x.length));
  const bottom = Math.max(PAD.bottom, 20 + Math.ceil(longest * 6.2 * 0.58));
  const H = HEIGHT - PAD.bottom + bottom;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - bottom;
  const n = Math.max(1, c.categories.length);
  const slot = plotW / n;
  const barW = Math.max(2, Math.min(48, slot * 0.7));
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const ticks = [0, 1, 2, 3, 4].map((i) => i * step);
  const labelEvery = Math.ceil(n / 12);
  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(t)}" y2="${y(t)}" stroke="#d0d7de"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11" fill="#57606a">${t}</text>`);
  }
  c.categories.forEach((cat, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    let base = 0;
    c.series.forEach((s, j) => {
      const v = c.values[i][j] ?? 0;
      if (v <= 0) return;
      const top = y(base + v);
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${(y(base) - top).toFixed(1)}" fill="${s.colour}"><title>${e(cat)}: ${v} ${e(s.name)}</title></rect>`,
      );
      base += v;
    });
    if (i % labelEvery === 0) {
      const lx = PAD.left + i * slot + slot / 2;
      parts.push(
        `<text x="${lx.toFixed(1)}" y="${H - bottom + 14}" text-anchor="end" font-size="11" fill="#57606a" transform="rotate(-35 ${lx.toFixed(1)} ${H - bottom + 14})">${e(cat)}</text>`,
      );
    }
  });
  parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(0)}" y2="${y(0)}" stroke="#57606a"/>`);
  const sums = c.series.map((s, j) => `${c.values.reduce((a, row) => a + (row[j] ?? 0), 0)} ${s.name}`).join(', ');
  const desc =
    c.categories.length === 0
      ? 'No data in this period.'
      : `${c.categories.length} bars from ${c.categories[0]} to ${c.categories.at(-1)}; in total ${sums}.`;
  const legend = c.series
    .map((s) => `<li><span class="sw" style="background:${s.colour}" aria-hidden="true"></span>${e(s.name)}</li>`)
    .join('');
  return `<figure>
<figcaption id="${c.id}-title">${e(c.title)}</figcaption>
<svg id="${c.id}" role="img" aria-labelledby="${c.id}-t ${c.id}-d" viewBox="0 0 ${W} ${H}" width="100%" style="max-width:${W}px" xmlns="http://www.w3.org/2000/svg">
<title id="${c.id}-t">${e(c.title)}</title><desc id="${c.id}-d">${e(desc)}</desc>
${parts.join('\n')}
${c.categories.length === 0 ? `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#57606a">No data in this period</text>` : ''}
</svg>
<ul class="legend" aria-label="Legend">${legend}</ul>
</figure>`;
}
