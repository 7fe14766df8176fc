import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BRAKE_STREAM_WINDOW_BYTES,
  DEFAULT_CONNECTION_WINDOW_BYTES,
  DEFAULT_RECEIVE_BUDGET_BYTES,
  DEFAULT_STREAM_WINDOW_BYTES,
  TUNNEL_MAX_HEADER_LIST_BYTES,
  TUNNEL_MAX_HEADER_PAIRS,
} from './tunnel/flow-control.ts';
import { IDEMPOTENT_ATTEMPTS, MAX_ATTEMPTS, WAIT_FOR_TUNNEL_MS } from './edge/proxy/stream-to-group.ts';
import { REPLAY_LIMIT } from './edge/proxy/replayable-body.ts';
import { MAX_RESUMES, MIN_RESUMABLE_BYTES } from './edge/proxy/resume.ts';
import {
  FAILURE_COOLDOWN_MS,
  FAILURE_WINDOW_MS,
  FAILURES_TO_EJECT,
  SILENT_INTERVALS_TO_CLOSE,
  SILENT_INTERVALS_TO_EJECT,
  STATUS_INTERVAL_MS,
} from './edge/tunnel/health.ts';
import { HEARTBEAT_MS, HEARTBEAT_TTL_MS } from './edge/cluster/registry.ts';
import { BACKEND_CONNECTIONS, CLIENT_QUEUE, CLIENT_SHARE, CONTENDED } from './connector/forward/backend-pool.ts';
import { BACKEND_TIMEOUT } from './store/validate.ts';
import { DEFAULT_CONNECTOR_WORKERS, DEFAULT_DRAIN_SECONDS, DEFAULT_TUNNELS } from './cli/connector.ts';
import { EDGE_DRAIN_SECONDS } from './cli/edge.ts';
import { FAILED_NODE_AVOID_MS } from './connector/supervisor/supervisor.ts';
import { parseEdgeConfig } from './config/edge-config.ts';

/**
 * The documents quote figures from the code (window sizes, timeouts, limits, thresholds). Each quoted figure is
 * marked right after it, `16 MiB<!-- figure: STREAM_WINDOW_BYTES -->`, with the name of a constant below or
 * `config.<path>` for a default of the edge's configuration; this test fails when a figure drifts from its source,
 * when a marked figure names nothing known, and when docs/architecture.md's folder tree and src/ differ.
 */

type Unit = 'bytes' | 'ms' | 's' | 'days' | 'count';
const FIGURES: Record<string, { value: number; unit: Unit }> = {
  STREAM_WINDOW_BYTES: { value: DEFAULT_STREAM_WINDOW_BYTES, unit: 'bytes' },
  CONNECTION_WINDOW_BYTES: { value: DEFAULT_CONNECTION_WINDOW_BYTES, unit: 'bytes' },
  RECEIVE_BUDGET_BYTES: { value: DEFAULT_RECEIVE_BUDGET_BYTES, unit: 'bytes' },
  BRAKE_STREAM_WINDOW_BYTES: { value: BRAKE_STREAM_WINDOW_BYTES, unit: 'bytes' },
  TUNNEL_MAX_HEADER_LIST_BYTES: { value: TUNNEL_MAX_HEADER_LIST_BYTES, unit: 'bytes' },
  TUNNEL_MAX_HEADER_PAIRS: { value: TUNNEL_MAX_HEADER_PAIRS, unit: 'count' },
  WAIT_FOR_TUNNEL_MS: { value: WAIT_FOR_TUNNEL_MS, unit: 'ms' },
  MAX_ATTEMPTS: { value: MAX_ATTEMPTS, unit: 'count' },
  REPLAY_LIMIT: { value: REPLAY_LIMIT, unit: 'bytes' },
  IDEMPOTENT_ATTEMPTS: { value: IDEMPOTENT_ATTEMPTS, unit: 'count' },
  MAX_RESUMES: { value: MAX_RESUMES, unit: 'count' },
  MIN_RESUMABLE_BYTES: { value: MIN_RESUMABLE_BYTES, unit: 'bytes' },
  SILENT_INTERVALS_TO_EJECT: { value: SILENT_INTERVALS_TO_EJECT, unit: 'count' },
  SILENT_INTERVALS_TO_CLOSE: { value: SILENT_INTERVALS_TO_CLOSE, unit: 'count' },
  STATUS_INTERVAL_MS: { value: STATUS_INTERVAL_MS, unit: 'ms' },
  FAILURES_TO_EJECT: { value: FAILURES_TO_EJECT, unit: 'count' },
  FAILURE_WINDOW_MS: { value: FAILURE_WINDOW_MS, unit: 'ms' },
  FAILURE_COOLDOWN_MS: { value: FAILURE_COOLDOWN_MS, unit: 'ms' },
  HEARTBEAT_MS: { value: HEARTBEAT_MS, unit: 'ms' },
  HEARTBEAT_TTL_MS: { value: HEARTBEAT_TTL_MS, unit: 'ms' },
  BACKEND_CONNECTIONS: { value: BACKEND_CONNECTIONS, unit: 'count' },
  CLIENT_SHARE: { value: CLIENT_SHARE, unit: 'count' },
  CONTENDED: { value: CONTENDED, unit: 'count' },
  CLIENT_QUEUE: { value: CLIENT_QUEUE, unit: 'count' },
  BACKEND_TIMEOUT_DEFAULT: { value: BACKEND_TIMEOUT.default, unit: 's' },
  BACKEND_TIMEOUT_LONG: { value: BACKEND_TIMEOUT.long, unit: 's' },
  DEFAULT_TUNNELS: { value: DEFAULT_TUNNELS, unit: 'count' },
  DEFAULT_CONNECTOR_WORKERS: { value: DEFAULT_CONNECTOR_WORKERS, unit: 'count' },
  DEFAULT_DRAIN_SECONDS: { value: DEFAULT_DRAIN_SECONDS, unit: 's' },
  EDGE_DRAIN_SECONDS: { value: EDGE_DRAIN_SECONDS, unit: 's' },
  FAILED_NODE_AVOID_MS: { value: FAILED_NODE_AVOID_MS, unit: 'ms' },
};

/** Figures docs/architecture.md must keep quoting (so the check cannot pass by losing its markers). */
const REQUIRED_IN_ARCHITECTURE = [
  'STREAM_WINDOW_BYTES',
  'CONNECTION_WINDOW_BYTES',
  'RECEIVE_BUDGET_BYTES',
  'WAIT_FOR_TUNNEL_MS',
  'MAX_ATTEMPTS',
  'REPLAY_LIMIT',
  'MAX_RESUMES',
  'CLIENT_SHARE',
  'SILENT_INTERVALS_TO_EJECT',
  'SILENT_INTERVALS_TO_CLOSE',
  'config.tunnel.pingIntervalMs',
  'config.limits.headersTimeoutMs',
  'config.limits.bodyIdleTimeoutMs',
  'config.limits.maxConnectionsPerClient',
  'config.limits.maxRequestsPerClient',
];

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULTS = parseEdgeConfig({ stateDir: 's', domain: 'apps.example.com', tls: [{ certFile: 'c', keyFile: 'k' }] });

/** A configuration default by its dotted path; its unit from the name (…Ms, …Days, …Bytes). */
function configFigure(dotted: string): { value: number; unit: Unit } | undefined {
  let node: unknown = DEFAULTS;
  for (const key of dotted.split('.'))
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  if (typeof node !== 'number') return undefined;
  const unit: Unit = dotted.endsWith('Ms')
    ? 'ms'
    : dotted.endsWith('Days')
      ? 'days'
      : dotted.endsWith('Bytes')
        ? 'bytes'
        : 'count';
  return { value: node, unit };
}

/** What a figure is in its unit's base (bytes, milliseconds, days, a count), and which base that is. */
const TEXT_UNITS: Record<string, [base: Unit, factor: number]> = {
  '': ['count', 1],
  bytes: ['bytes', 1],
  KiB: ['bytes', 1024],
  MiB: ['bytes', 1024 ** 2],
  GiB: ['bytes', 1024 ** 3],
  ms: ['ms', 1],
  s: ['ms', 1000],
  min: ['ms', 60_000],
  h: ['ms', 3_600_000],
  days: ['days', 1],
};
const BASE: Record<Unit, [base: Unit, factor: number]> = {
  bytes: ['bytes', 1],
  ms: ['ms', 1],
  s: ['ms', 1000],
  days: ['days', 1],
  count: ['count', 1],
};

const MARKER = /<!--\s*figure:\s*([A-Za-z0-9_.]+)\s*-->/g;
const FIGURE_BEFORE = /(\d[\d,]*(?:\.\d+)?)(?:\s?(bytes|KiB|MiB|GiB|ms|s|min|h|days))?\s*$/;

/** Null when the figure at the end of `before` is what `name` holds, else what is wrong. */
function judge(before: string, name: string): string | null {
  const known = name.startsWith('config.') ? configFigure(name.slice('config.'.length)) : FIGURES[name];
  if (!known) return 'names no known constant or configuration default';
  const figure = FIGURE_BEFORE.exec(before);
  if (!figure) return 'has no figure right before it';
  const [textBase, textFactor] = TEXT_UNITS[figure[2] ?? ''];
  const [base, factor] = BASE[known.unit];
  const quoted = Number(figure[1].replaceAll(',', '')) * textFactor;
  if (textBase === base && quoted === known.value * factor) return null;
  return `says ${figure[0].trim()}, the code has ${known.value}${known.unit === 'count' ? '' : ` ${known.unit}`}`;
}

interface Check {
  file: string;
  line: number;
  name: string;
  problem: string | null;
}

function checkFigures(file: string): Check[] {
  const markdown = readFileSync(path.join(ROOT, file), 'utf8');
  return [...markdown.matchAll(MARKER)].map((match) => ({
    file,
    line: markdown.slice(0, match.index).split('\n').length,
    name: match[1],
    problem: judge(markdown.slice(Math.max(0, match.index - 40), match.index), match[1]),
  }));
}

const DOCUMENTS = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

test('every figure the documents quote matches the constant or default it is marked with', () => {
  const checks = DOCUMENTS.flatMap(checkFigures);
  const wrong = checks
    .filter((c) => c.problem !== null)
    .map((c) => `${c.file}:${c.line}: figure ${c.name} ${c.problem}`);
  assert.deepEqual(wrong, []);
  const marked = new Set(checks.filter((c) => c.file === 'docs/architecture.md').map((c) => c.name));
  assert.deepEqual(
    REQUIRED_IN_ARCHITECTURE.filter((name) => !marked.has(name)),
    [],
    'figures docs/architecture.md must quote (marked)',
  );
});

test('a drifted figure, an unknown name and a missing unit are caught', () => {
  // The checker itself, on text that is wrong in each way it must notice.
  const probe = (text: string): string | null => {
    const match = [...text.matchAll(MARKER)][0];
    return judge(text.slice(0, match.index), match[1])?.split(' ')[0] ?? null;
  };
  assert.equal(probe('windows of 4 MiB<!-- figure: STREAM_WINDOW_BYTES -->'), 'says');
  assert.equal(probe('waits 2<!-- figure: WAIT_FOR_TUNNEL_MS -->'), 'says', 'a time without its unit');
  assert.equal(probe('2 s<!-- figure: NO_SUCH_CONSTANT -->'), 'names');
  assert.equal(probe('30 s<!-- figure: config.limits.noSuchTimeoutMs -->'), 'names');
  assert.equal(probe('about a minute<!-- figure: WAIT_FOR_TUNNEL_MS -->'), 'has');
  assert.equal(probe('2,000 ms<!-- figure: WAIT_FOR_TUNNEL_MS -->'), null);
  assert.equal(probe('65 s<!-- figure: config.limits.keepAliveTimeoutMs -->'), null);
});

test("docs/architecture.md's folder tree names exactly the folders under src/", () => {
  const markdown = readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
  const block = /```\nsrc\/\n([\s\S]*?)```/.exec(markdown);
  assert.ok(block, 'a ``` block starting with src/');
  const documented = new Set<string>();
  const stack: string[] = [];
  for (const line of block[1].split('\n')) {
    const m = /^( *)([a-z0-9-]+)\/(\s|$)/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 2 - 1;
    stack.length = depth;
    stack.push(m[2]);
    documented.add(stack.join('/'));
  }
  const actual = new Set<string>();
  const walk = (dir: string, rel: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      actual.add(child);
      walk(path.join(dir, entry.name), child);
    }
  };
  walk(path.join(ROOT, 'src'), '');
  assert.deepEqual([...actual].filter((d) => !documented.has(d)).sort(), [], 'folders missing from the tree');
  assert.deepEqual([...documented].filter((d) => !actual.has(d)).sort(), [], 'folders in the tree that do not exist');
});
