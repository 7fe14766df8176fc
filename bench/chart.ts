/**
 * A hand-written SVG chart of one run: requests/s (1 KiB, 64 connections) and one 256 MiB download (MB/s) per
 * path, as horizontal bars, each panel scaled to its own largest bar. Rows without figures say so.
 */
import { displayOrder, proxyCpu } from './report.ts';
import type { PathResult, Results } from './results.ts';

const ROW = 26;
const LABEL_W = 420;
const BAR_W = 300;
const PANEL_GAP = 40;
const TOP = 58;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Panel {
  title: string;
  value: (p: PathResult) => number | undefined;
  unit: string;
}

function colour(p: PathResult): string {
  if (p.id.startsWith('drawbridge')) return p.before ? '#efbf8f' : '#d9822b';
  if (p.id === 'caddy') return '#3a9a5b';
  if (p.id === 'direct') return '#7a8a99';
  return '#3c78b4';
}

export function svgChart(r: Results): string {
  const panels: Panel[] = [
    {
      title: 'requests/s — 1 KiB, 64 connections',
      value: (p) => p.load.find((l) => l.connections === 64)?.median.requestsPerSec,
      unit: '',
    },
    { title: 'one 256 MiB download — MB/s', value: (p) => p.downloadSingle?.mbPerSec, unit: ' MB/s' },
    { title: 'proxy CPU per request — µs (less is better)', value: (p) => proxyCpu(p), unit: ' µs' },
  ];
  const rows = displayOrder(r.paths);
  const panelH = rows.length * ROW + 30;
  const height = TOP + panels.length * (panelH + PANEL_GAP);
  const width = LABEL_W + BAR_W + 230;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(
    `<text x="12" y="24" font-size="16" font-weight="bold">Drawbridge bench — ${esc(r.date.slice(0, 10))}${r.quick ? ' (quick)' : ''}</text>`,
  );
  out.push(
    `<text x="12" y="42" fill="#555">loopback, ${r.machine.cpus} CPUs shared by client and servers; orange: Drawbridge (light: --before build), green: Caddy chain, blue: one-hop proxies, grey: direct</text>`,
  );
  panels.forEach((panel, i) => {
    const y0 = TOP + i * (panelH + PANEL_GAP);
    out.push(`<text x="12" y="${y0 + 14}" font-weight="bold">${esc(panel.title)}</text>`);
    const max = Math.max(1, ...rows.map((p) => (p.available ? (panel.value(p) ?? 0) : 0)));
    const nginx = rows.find((p) => p.id === 'nginx' && p.available);
    const reference = nginx ? panel.value(nginx) : undefined;
    rows.forEach((p, j) => {
      const y = y0 + 26 + j * ROW;
      out.push(`<text x="12" y="${y + 14}">${esc(p.label)}</text>`);
      const v = p.available ? panel.value(p) : undefined;
      if (v === undefined || !Number.isFinite(v)) {
        const why = !p.available ? 'not yet available' : p.id === 'direct' ? 'no proxy' : 'no figure';
        out.push(`<text x="${LABEL_W}" y="${y + 14}" fill="#999" font-style="italic">${why}</text>`);
        return;
      }
      const w = Math.max(1, (v / max) * BAR_W);
      out.push(`<rect x="${LABEL_W}" y="${y}" width="${w.toFixed(1)}" height="${ROW - 8}" fill="${colour(p)}"/>`);
      const times = reference && p.id !== 'nginx' ? ` (${(v / reference).toFixed(2)} × nginx)` : '';
      out.push(
        `<text x="${(LABEL_W + w + 6).toFixed(1)}" y="${y + 14}">${Math.round(v).toLocaleString('en-US')}${panel.unit}${times}</text>`,
      );
    });
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
