/**
 * Keeps the README's performance section equal to the latest full run: the bench replaces what stands between the
 * two markers with the report's tables (targets before and after, requests, latency, transfers and memory, HTTP/2, WAN,
 * profiles). A quick run never touches the README.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export const README_START = '<!-- bench:start -->';
export const README_END = '<!-- bench:end -->';

/** The report's sections worth showing in the README: everything from the first section (the targets) up to "## Notes". */
export function readmeSection(reportMarkdown: string): string {
  const start = reportMarkdown.indexOf('\n## ') + 1;
  const end = reportMarkdown.indexOf('## Notes');
  const body = reportMarkdown.slice(start < 0 ? 0 : start, end < 0 ? undefined : end).trim();
  const title = /^# (.*)$/m.exec(reportMarkdown)?.[1] ?? 'Drawbridge bench';
  return `_${title.replace(/^Drawbridge bench — /, 'Measured ')} by \`npm run bench\` (full run; see bench/results/latest.md)._\n\n${body.replace(/^## /gm, '#### ')}`;
}

/** Replaces the section between the markers; returns false when the README has no markers. */
export function updateReadme(readmePath: string, reportMarkdown: string): boolean {
  const readme = readFileSync(readmePath, 'utf8');
  const a = readme.indexOf(README_START);
  const b = readme.indexOf(README_END);
  if (a < 0 || b < a) return false;
  writeFileSync(
    readmePath,
    `${readme.slice(0, a + README_START.length)}\n${readmeSection(reportMarkdown)}\n${readme.slice(b)}`,
  );
  return true;
}
