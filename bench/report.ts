/**
 * Turns one run's results into the target checks (issues 6 and 16) and a markdown report: figures, ratios against
 * nginx one-hop, the Caddy chain and direct measured in the same run, the --before build beside this tree's, each
 * target met / not met (with where to look) / not yet available.
 */
import { pageLoadTable } from './page-load.ts';
import { policyEvalTable } from './policy-eval.ts';
import type { RateResult } from './rate.ts';
import { gcText } from './inspector.ts';
import { PAIR_RATE, pairsTable } from './pairs.ts';
import type { LoadResult, PathId, PathResult, Results, TargetCheck, WanRow } from './results.ts';

const NA = 'not yet available';

/**
 * The row `id` measured on this tree, or with `before` the one built from `--before=<ref>`; only rows with figures.
 */
export function path(r: Results, id: PathId, before = false): PathResult | undefined {
  return r.paths.find((p) => p.id === id && p.available && (p.before !== undefined) === before);
}

function loadAt(p: PathResult | undefined, connections: number): LoadResult | undefined {
  return p?.load.find((l) => l.connections === connections);
}

function rps(p: PathResult | undefined, connections = 64): number | undefined {
  return loadAt(p, connections)?.median.requestsPerSec;
}

/** The open-loop latency figures at `rate` req/s. */
export function rateAt(p: PathResult | undefined, rate: number): RateResult | undefined {
  return p?.rates?.find((x) => x.rate === rate);
}

/**
 * The path could not keep up with the offered rate (its latency is then queueing): more than 1% of the requests were
 * not served in time, or those served came out at less than 90% of the rate.
 */
export function saturated(rate: RateResult): boolean {
  return rate.errors / Math.max(1, rate.sent) > 0.01 || (rate.servedPerSec ?? rate.rate) < 0.9 * rate.rate;
}

/** CPU µs per request summed over the proxy's processes (edge + connector; nginx; haproxy; both Caddies). */
export function proxyCpu(p: PathResult | undefined, connections = 64): number | undefined {
  const l = loadAt(p, connections);
  if (!p || !l || p.proxyRoles.length === 0) return undefined;
  return p.proxyRoles.reduce((sum, role) => sum + (l.cpuUsPerRequest[role] ?? Number.NaN), 0);
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 && Number.isFinite(a) ? a / b : undefined;
}

const f = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v)
    ? '—'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The rows one build contributes to the targets: its passthrough and pre-authenticated rows. */
interface Build {
  pass?: PathResult;
  pre?: PathResult;
  /** The WAN run's Drawbridge download (this tree's build only). */
  wan?: WanRow;
}

/** One target: how to read it off a build (and off the Caddy chain, where the same measure makes sense). */
interface Target {
  name: string;
  goal: string;
  unit: string;
  issue16?: boolean;
  ok: (v: number) => boolean;
  value: (b: Build) => number | undefined;
  detail: (b: Build) => string;
  /** The same measure with the Caddy chain in Drawbridge's place. */
  caddy?: boolean;
  /** Why no figure, when the after build has none. */
  missing?: (b: Build) => string | undefined;
  /** Where to look when the target is not met. */
  why?: (b: Build) => string;
}

/** The title of the section that gives each Node process's GC pauses during the fixed-rate runs. */
const GC_SECTION = 'Where the latency tail comes from: GC pauses during the fixed-rate runs';

/**
 * The latency target's "why": the full collections and scavenges of the edge and the connector during the same
 * 1,000 req/s run whose p99 missed (bench/inspector.ts records them), or the CPU profile when none were recorded.
 */
function tailWhy(b: Build): string {
  const gc = rateAt(b.pass, 1000)?.gc;
  if (!gc || Object.keys(gc).length === 0) return profileWhy(b);
  const parts = Object.entries(gc).map(([role, g]) => `${role} ${gcText(g)}`);
  return `during that run: ${parts.join('; ')} — "${GC_SECTION}" below`;
}

/** Points at the `--profile` sections of the row, or says how to get them. */
function profileWhy(b: Build): string {
  const roles = Object.keys(b.pass?.profiles ?? {});
  if (roles.length === 0) return 'no profile in this run: `npm run bench -- --profile` lists where the CPU goes';
  return `where the CPU goes: ${roles.map((role) => `"Where the ${role}'s CPU goes — ${b.pass?.label}"`).join(', ')} below (\`--profile\`)`;
}

function targetList(r: Results): Target[] {
  const nginx = path(r, 'nginx');
  const direct = path(r, 'direct');
  const p99Over = (p: PathResult | undefined): number | undefined => {
    const a = rateAt(p, 1000);
    const d = rateAt(direct, 1000);
    return a && d ? a.latencyMs.p99 - d.latencyMs.p99 : undefined;
  };
  return [
    {
      name: 'small requests',
      goal: '≥ 0.35 × nginx one-hop requests/s (1 KiB, 64 conns)',
      unit: '×',
      ok: (v) => v >= 0.35,
      value: (b) => ratio(rps(b.pass), rps(nginx)),
      detail: (b) => `passthrough ${f(rps(b.pass))} req/s vs nginx one-hop ${f(rps(nginx))} req/s`,
      caddy: true,
      why: profileWhy,
    },
    {
      name: 'CPU per request',
      goal: 'edge + connector ≤ 5 × nginx one-hop',
      unit: '×',
      issue16: true,
      ok: (v) => v <= 5,
      value: (b) => ratio(proxyCpu(b.pass), proxyCpu(nginx)),
      detail: (b) => {
        const split = loadAt(b.pass, 64)?.cpuUsPerRequest;
        return `edge ${f(split?.['edge'])} + connector ${f(split?.['connector'])} = ${f(proxyCpu(b.pass))} µs vs nginx ${f(proxyCpu(nginx))} µs per request (64 connections)`;
      },
      caddy: true,
      why: profileWhy,
    },
    {
      name: 'one large download',
      goal: '≥ 0.30 × nginx one-hop (256 MiB)',
      unit: '×',
      ok: (v) => v >= 0.3,
      value: (b) => ratio(b.pass?.downloadSingle?.mbPerSec, nginx?.downloadSingle?.mbPerSec),
      detail: (b) =>
        `passthrough ${f(b.pass?.downloadSingle?.mbPerSec)} MB/s vs nginx one-hop ${f(nginx?.downloadSingle?.mbPerSec)} MB/s`,
      caddy: true,
    },
    {
      name: 'pre-authenticated',
      goal: '≥ 0.90 × passthrough requests/s',
      unit: '×',
      ok: (v) => v >= 0.9,
      value: (b) => ratio(rps(b.pre), rps(b.pass)),
      detail: (b) => `pre-authenticated ${f(rps(b.pre))} req/s vs passthrough ${f(rps(b.pass))} req/s`,
      missing: (b) => (b.pass ? 'the pre-authenticated row is not measured yet' : undefined),
      why: (b) => {
        const roles = Object.keys(b.pre?.profiles ?? {});
        return roles.length
          ? `where the CPU goes: "Where the edge's CPU goes — ${b.pre?.label}" below (\`--profile\`)`
          : 'no profile in this run: `npm run bench -- --profile`';
      },
    },
    {
      name: 'latency at 1,000 req/s',
      goal: 'p99 ≤ direct p99 + 3 ms',
      unit: 'ms over direct',
      issue16: true,
      ok: (v) => v <= 3,
      value: (b) => p99Over(b.pass),
      detail: (b) => {
        const a = rateAt(b.pass, 1000);
        return `passthrough p99 ${f(a?.latencyMs.p99, 2)} ms${a && saturated(a) ? ' (saturated)' : ''} vs direct ${f(rateAt(direct, 1000)?.latencyMs.p99, 2)} ms`;
      },
      caddy: true,
      why: tailWhy,
    },
    {
      name: 'WAN download',
      goal: '≥ 100 MB/s for one 256 MiB download over the 20 ms relay',
      unit: 'MB/s',
      ok: (v) => v >= 100,
      value: (b) => b.wan?.download?.mbPerSec,
      detail: (b) =>
        `Drawbridge over the relay: ${f(b.wan?.download?.mbPerSec)} MB/s${b.wan?.download?.complete === false ? ' (stopped at the time limit)' : ''}`,
    },
    {
      name: 'idle TLS clients',
      goal: 'edge ≤ 12 MiB per 1,000 idle keep-alive TLS connections',
      unit: 'MiB',
      issue16: true,
      ok: (v) => v <= 12,
      value: (b) => b.pass?.idleTls?.mibPer1000,
      detail: (b) =>
        `edge RSS +${f(b.pass?.idleTls?.mibPer1000, 1)} MiB for 1,000 after a full GC (nginx one-hop: ${f(nginx?.idleTls?.mibPer1000, 1)} MiB)`,
      caddy: true,
      why: () =>
        "RSS after a forced full GC counts what the connections keep; what one idle TLS client holds, part by part (Node's HTTP parser, OpenSSL's record layers, the post-quantum key share, Drawbridge's own < 0.5 KiB), is in docs/operations.md, \"Memory per idle connection\"",
    },
    {
      name: 'idle WebSockets',
      goal: '≤ 16 KiB per idle WebSocket, edge + connector',
      unit: 'KiB',
      issue16: true,
      ok: (v) => v <= 16,
      value: (b) => b.pass?.idleWebSockets?.kibEach,
      detail: (b) => {
        const split = Object.entries(b.pass?.idleWebSockets?.kibEachByRole ?? {})
          .map(([role, kib]) => `${role} ${f(kib, 1)}`)
          .join(' + ');
        return `edge + connector RSS +${f(b.pass?.idleWebSockets?.kibEach, 1)} KiB each${split ? ` (${split})` : ''} (nginx one-hop: ${f(nginx?.idleWebSockets?.kibEach, 1)} KiB)`;
      },
      caddy: true,
      why: (b) => {
        const split = Object.entries(b.pass?.idleWebSockets?.kibEachByRole ?? {});
        const top = split.sort((x, y) => y[1] - x[1])[0];
        return top
          ? `the ${top[0]} holds the most (${f(top[1], 1)} KiB each); see docs/operations.md, "Memory per idle connection"`
          : 'see docs/operations.md, "Memory per idle connection"';
      },
    },
  ];
}

export function evaluateTargets(r: Results): TargetCheck[] {
  const after: Build = {
    pass: path(r, 'drawbridge-passthrough'),
    pre: path(r, 'drawbridge-preauth'),
    wan: r.wan.find((w) => w.label.startsWith('Drawbridge') && w.available && w.download),
  };
  const before: Build = { pass: path(r, 'drawbridge-passthrough', true), pre: path(r, 'drawbridge-preauth', true) };
  const caddy: Build = { pass: path(r, 'caddy') };
  const known = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);
  return targetList(r).map((t) => {
    const measured = known(t.value(after));
    const base = {
      name: t.name,
      goal: t.goal,
      unit: t.unit,
      ...(t.issue16 ? { issue16: true } : {}),
      ...(r.before ? { before: known(t.value(before)) } : {}),
      ...(t.caddy ? { caddy: known(t.value(caddy)) } : {}),
    };
    if (measured === null) {
      return {
        ...base,
        measured: null,
        status: 'not yet available',
        detail:
          t.missing?.(after) ??
          (after.pass
            ? 'a row it is compared with was not measured in this run'
            : 'the Drawbridge rows are not measured yet'),
      };
    }
    const met = t.ok(measured);
    return {
      ...base,
      measured,
      status: met ? 'met' : 'not met',
      detail: t.detail(after),
      ...(!met && t.why ? { why: t.why(after) } : {}),
    };
  });
}

/** An idle-connection figure, flagged when the server closed some of them before the reading. */
function idleText(r: PathResult['idleTls'], value: number | undefined): string {
  if (!r) return '—';
  const closed = r.opened - r.stillOpen;
  return `${f(value, 1)}${closed > 0 ? ` (${closed} of ${r.opened} closed by the server)` : ''}${r.failed ? ` (${r.failed} failed to open)` : ''}`;
}

/** p50 / p99 / p99.9 in ms, or "saturated" when the path could not keep up (its latency is then queueing). */
export function rateText(rate: RateResult | undefined): string {
  if (!rate) return '—';
  const ms = rate.latencyMs;
  const text = `${f(ms.p50, 2)} / ${f(ms.p99, 2)} / ${f(ms.p999, 2)}`;
  if (!saturated(rate)) return text;
  const late = rate.errors / Math.max(1, rate.sent);
  return `saturated (${late > 0.01 ? `${f(late * 100)}% not served in time, ` : ''}served ${f(rate.servedPerSec)} req/s; ${text})`;
}

/**
 * The rows in reading order: each `--before` row just above the same row of this tree, so before and after sit
 * side by side.
 */
export function displayOrder(paths: readonly PathResult[]): PathResult[] {
  const now = paths.filter((p) => p.before === undefined);
  const out: PathResult[] = [];
  for (const p of now) out.push(...paths.filter((b) => b.before !== undefined && b.id === p.id), p);
  // Before rows whose id this tree did not measure.
  out.push(...paths.filter((b) => b.before !== undefined && !now.some((p) => p.id === b.id)));
  return out;
}

function missingText(p: PathResult): string {
  if (p.reason?.startsWith('skipped')) return 'skipped';
  return p.reason?.startsWith('failed') ? 'failed (see notes)' : NA;
}

/**
 * Issue 16's tail: what each Node process of a Drawbridge row paused for while the fixed-rate client ran. A pause
 * holds every request in flight and every one arriving meanwhile, so a full collection of tens of ms at 1,000 req/s
 * alone puts dozens of requests above the p99 of a path without one.
 */
export function gcSection(r: Results, rows: readonly PathResult[]): string[] {
  const rates = r.settings.rates ?? [];
  const recorded = rows.filter((p) => p.available && p.rates.some((x) => x.gc));
  if (recorded.length === 0) return [];
  const lines = [
    `## ${GC_SECTION}`,
    '',
    "Each Node process's own `gc` performance entries (a PerformanceObserver put in through the inspector before the run and read after it): young-generation collections (scavenges) and full collections (the final stop-the-world pause of a mark-compact; its incremental steps are not counted). The latency is the same run's.",
    '',
    `| path | process |${rates.map((x) => ` p99 / p99.9 ms at ${f(x)} req/s | GC pauses at ${f(x)} req/s |`).join('')}`,
    `| --- | --- |${rates.map(() => ' ---: | --- |').join('')}`,
  ];
  for (const p of recorded) {
    const roles = [...new Set(p.rates.flatMap((x) => Object.keys(x.gc ?? {})))];
    for (const role of roles) {
      const cells = rates.map((x) => {
        const rate = rateAt(p, x);
        const g = rate?.gc?.[role];
        return ` ${rate ? `${f(rate.latencyMs.p99, 2)} / ${f(rate.latencyMs.p999, 2)}` : '—'} | ${g ? gcText(g) : '—'} |`;
      });
      lines.push(`| ${p.label} | ${role} |${cells.join('')}`);
    }
  }
  lines.push('');
  return lines;
}

/** Issue 14's figure: Chromium's load event for a page of 60 assets over the relay, HTTP/1.1 against HTTP/2. */
export function pageLoadSection(r: Results): string[] {
  if (!r.pageLoad) return [];
  const head = `## Page load in Chromium (60 assets, ${r.settings.wanDelayMsEachWay * 2} ms round trip through the delay relay)`;
  if ('error' in r.pageLoad) return [head, '', `${NA}: ${r.pageLoad.error}`, ''];
  const p = r.pageLoad;
  return [
    head,
    '',
    `Debian's Chromium (playwright-core), a fresh context per load (empty cache, new connections), its connections to the edge crossing the bench's delay relay; \`${new URL(p.url).pathname}\` on the nginx backend through a passthrough app: 20 CSS, 20 JavaScript, 20 SVG files of 4 KiB. The load event (navigation start to loadEventEnd), median of ${p.runs} loads after one warm-up, HTTP/1.1 (Chromium's \`--disable-http2\`) and HTTP/2 alternating; the loopback rows are the same loads straight to the edge, what is not round trips.`,
    '',
    pageLoadTable(p),
    '',
  ];
}

/**
 * What conditional access costs on the request path end to end: the pre-authenticated row (the demo's policies
 * evaluated on every request) against the same app and session after the policies were deleted.
 */
export function policyCostSection(r: Results): string[] {
  const on = path(r, 'drawbridge-preauth');
  const off = path(r, 'drawbridge-preauth-no-policies');
  if (!on || !off) return [];
  const edge = (p: PathResult): number | undefined => loadAt(p, 64)?.cpuUsPerRequest['edge'];
  const p99 = (p: PathResult): number | undefined => rateAt(p, 1000)?.latencyMs.p99;
  const diff = (a: number | undefined, b: number | undefined): number | undefined =>
    a !== undefined && b !== undefined ? a - b : undefined;
  return [
    '## Conditional access on the request path',
    '',
    "The pre-authenticated row's requests each go through the tenant's conditional access policies (edge/signin/app-host.ts → conditional-access.ts `onRequest`, from the cached policy set). `drawbridge dev` seeds two — MFA for the HR app outside the Office location, block from the Blocked range; from 127.0.0.1 (inside Office) neither applies, so each request evaluates both and is allowed. The second row is the same app and session after the policies were deleted through the admin API.",
    '',
    '| | req/s c=64 | edge CPU µs/req | edge + connector CPU µs/req | p99 at 1,000 req/s (ms) |',
    '| --- | ---: | ---: | ---: | ---: |',
    `| ${on.label} | ${f(rps(on))} | ${f(edge(on), 1)} | ${f(proxyCpu(on), 1)} | ${f(p99(on), 2)} |`,
    `| ${off.label} | ${f(rps(off))} | ${f(edge(off), 1)} | ${f(proxyCpu(off), 1)} | ${f(p99(off), 2)} |`,
    `| policies on − off | ${f(diff(rps(on), rps(off)))} | ${f(diff(edge(on), edge(off)), 1)} | ${f(diff(proxyCpu(on), proxyCpu(off)), 1)} | ${f(diff(p99(on), p99(off)), 2)} |`,
    '',
  ];
}

/** Issue 12's figure: conditional access evaluation per request, against the same call with no policy. */
export function policyEvalSection(r: Results): string[] {
  if (!r.policyEval) return [];
  const head = '## Conditional access per request (in-process)';
  if ('error' in r.policyEval) return [head, '', `${NA}: ${r.policyEval.error}`, ''];
  const p = r.policyEval;
  return [
    head,
    '',
    `\`onRequest\` of edge/signin/conditional-access.ts as the app host calls it (policy set from the cache, client address, platform and client type from a real request, the evaluator), the demo's two policies and named locations, alice to the HR app; median of ${p.rounds} rounds of ${p.evaluationsPerRound.toLocaleString('en-US')} sequential calls, one core.`,
    '',
    policyEvalTable(p),
    '',
  ];
}

/** Before and after in alternation (bench/pairs.ts): the figures that tell the code's change from the machine's drift. */
export function pairsSection(r: Results): string[] {
  if (!r.pairs || !r.before) return [];
  const head = `## Before and after, paired (${r.before.sha} against ${r.sha ?? 'this tree'})`;
  if ('error' in r.pairs) return [head, '', `${NA}: ${r.pairs.error}`, ''];
  const rounds = r.pairs.after.length;
  return [
    head,
    '',
    `The passthrough path of both builds, both \`drawbridge dev\`s running side by side, measured in alternation: ${rounds} round${rounds === 1 ? '' : 's'}, each the two builds one after the other (the order flips every round), each measure wrk at 64 connections (${r.settings.wrkDurationS} s) then ${f(PAIR_RATE)} req/s open loop (${r.settings.rateDurationS} s). The "before" and "after" rows in the tables below were measured minutes apart; these were not, so a drift of the machine's speed falls on both.`,
    '',
    pairsTable(r.pairs),
    '',
  ];
}

/** Issue 6's and 16's targets: this tree's figure, the --before build's, the Caddy chain's and the status. */
export function targetsSection(r: Results): string[] {
  if (r.targets.length === 0) return [];
  const unitText = (c: TargetCheck, v: number | null | undefined): string =>
    v === null || v === undefined ? '—' : `${f(v, c.unit === '×' ? 2 : 1)} ${c.unit}`;
  const lines = [
    '## Targets (issue 6; ★ issue 16)',
    '',
    `Each target's measure for this tree${r.before ? `, for the \`--before\` build (${r.before.sha}, \`${r.before.ref}\`)` : ''} and for the Caddy chain in Drawbridge's place (where the same measure applies), all from this run.`,
    '',
    `| target | goal |${r.before ? ` before (${r.before.sha}) |` : ''} after${r.sha ? ` (${r.sha})` : ''} | Caddy chain | status |`,
    `| --- | --- |${r.before ? ' ---: |' : ''} --- | ---: | --- |`,
  ];
  for (const c of r.targets) {
    const status =
      c.status === 'met' ? '**met**' : c.status === 'not met' ? `**not met**${c.why ? ` — ${c.why}` : ''}` : NA;
    const after = c.measured === null ? `— (${c.detail})` : `${unitText(c, c.measured)} — ${c.detail}`;
    lines.push(
      `| ${c.issue16 ? '★ ' : ''}${c.name} | ${c.goal} |${r.before ? ` ${unitText(c, c.before)} |` : ''} ${after} | ${c.caddy === undefined ? '' : unitText(c, c.caddy)} | ${status} |`,
    );
  }
  lines.push('');
  return lines;
}

/** Each figure × nginx one-hop's and × the Caddy chain's (the two peers), as table cells. */
function peers(v: number | undefined, nginxV: number | undefined, caddyV: number | undefined, digits = 2): string {
  return `${f(ratio(v, nginxV), digits)} | ${f(ratio(v, caddyV), digits)}`;
}

export function markdown(r: Results): string {
  const nginx = path(r, 'nginx');
  const nginxTls = path(r, 'nginx-tls');
  const caddy = path(r, 'caddy');
  const direct = path(r, 'direct');
  const rows = displayOrder(r.paths);
  const rates = r.settings.rates ?? [];
  const lines: string[] = [];
  lines.push(`# Drawbridge bench — ${r.date}${r.quick ? ' (quick run)' : ''}`);
  lines.push('');
  lines.push(
    `${r.machine.cpus} CPUs, ${r.machine.kernel}, Node ${r.machine.node}, ${r.machine.nginx}, ${r.machine.haproxy}${r.machine.caddy ? `, ${r.machine.caddy}` : ''}, ${r.machine.wrk}. ` +
      (r.paths.some((p) => p.available)
        ? `wrk: ${r.settings.threads} threads, ${r.settings.wrkDurationS} s × ${r.settings.repetitions} (median), 1 KiB file. `
        : '') +
      `Everything on loopback, client and servers sharing the same CPUs: compare ratios within one run, not absolute figures across machines.` +
      (r.before
        ? ` Rows marked "before" are Drawbridge built from \`${r.before.ref}\` (${r.before.sha}), measured in this run beside this tree's${r.sha ? ` (${r.sha})` : ''}.`
        : ''),
  );
  lines.push('');
  // A run of the in-process steps or the page load alone (`--only=…`) measured no path: no empty tables then.
  const anyPath = r.paths.some((p) => p.available);
  if (anyPath) {
    lines.push(...targetsSection(r));
    lines.push(...pairsSection(r));
    lines.push('## Requests');
    lines.push('');
    lines.push(
      '| path | req/s c=64 | × nginx | × Caddy chain | × direct | req/s c=256 | × nginx | × Caddy chain | proxy CPU µs/req | × nginx | × Caddy chain | backend CPU µs/req |',
    );
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const p of rows) {
      if (!p.available) {
        lines.push(`| ${p.label} | ${missingText(p)} | | | | | | | | | | |`);
        continue;
      }
      const backendCpu = loadAt(p, 64)?.cpuUsPerRequest['backend'];
      lines.push(
        `| ${p.label} | ${f(rps(p))} | ${peers(rps(p), rps(nginx), rps(caddy))} | ${f(ratio(rps(p), rps(direct)), 2)} | ${f(rps(p, 256))} | ${peers(rps(p, 256), rps(nginx, 256), rps(caddy, 256))} | ${f(proxyCpu(p), 1)} | ${peers(proxyCpu(p), proxyCpu(nginx), proxyCpu(caddy), 1)} | ${f(backendCpu, 1)} |`,
      );
    }
    lines.push('');
    if (rates.length > 0) {
      lines.push('## Latency (open loop)');
      lines.push('');
      lines.push(
        `\`rate.ts\`: requests issued on a fixed schedule whether or not earlier ones finished (64 connections, ${r.settings.rateDurationS} s after a 1 s warm-up), latency from issue to last byte; p99 × nginx one-hop's and × the Caddy chain's. A path that cannot keep up is *saturated*.`,
      );
      lines.push('');
      lines.push(
        `| path |${rates.map((x) => ` p50 / p99 / p99.9 ms at ${f(x)} req/s | p99 × nginx | p99 × Caddy chain |`).join('')}`,
      );
      lines.push(`| --- |${rates.map(() => ' ---: | ---: | ---: |').join('')}`);
      for (const p of rows) {
        if (!p.available) {
          lines.push(`| ${p.label} | ${missingText(p)} |${' |'.repeat(rates.length * 3 - 1)}`);
          continue;
        }
        const p99 = (q: PathResult | undefined, x: number): number | undefined => rateAt(q, x)?.latencyMs.p99;
        lines.push(
          `| ${p.label} |${rates.map((x) => ` ${rateText(rateAt(p, x))} | ${peers(p99(p, x), p99(nginx, x), p99(caddy, x))} |`).join('')}`,
        );
      }
      lines.push('');
      lines.push(...gcSection(r, rows));
    }
    lines.push('## Transfers and memory');
    lines.push('');
    lines.push(
      '| path | 256 MiB single MB/s | × nginx | × Caddy chain | 4 × 256 MiB parallel MB/s | × nginx | × Caddy chain | idle TLS conns, MiB per 1,000 | × nginx | × Caddy chain | idle WebSockets, KiB each | × nginx | × Caddy chain |',
    );
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const p of rows) {
      if (!p.available) {
        lines.push(`| ${p.label} | ${missingText(p)} | | | | | | | | | | | |`);
        continue;
      }
      const single = p.downloadSingle?.mbPerSec;
      const par = p.downloadParallel?.mbPerSec;
      const tls = p.idleTls?.mibPer1000;
      const ws = p.idleWebSockets?.kibEach;
      const split = Object.entries(p.idleWebSockets?.kibEachByRole ?? {})
        .map(([role, kib]) => `${role} ${f(kib, 1)}`)
        .join(' + ');
      lines.push(
        `| ${p.label} | ${f(single)}${p.downloadSingle?.complete === false ? ' (partial)' : ''} | ${peers(single, nginx?.downloadSingle?.mbPerSec, caddy?.downloadSingle?.mbPerSec)} | ${f(par)} | ${peers(par, nginx?.downloadParallel?.mbPerSec, caddy?.downloadParallel?.mbPerSec)} | ${idleText(p.idleTls, tls)} | ${peers(tls, nginx?.idleTls?.mibPer1000, caddy?.idleTls?.mibPer1000)} | ${idleText(p.idleWebSockets, ws)}${split ? ` (${split})` : ''} | ${peers(ws, nginx?.idleWebSockets?.kibEach, caddy?.idleWebSockets?.kibEach)} |`,
      );
    }
    lines.push('');
    const h2Rows = rows.filter((p) => p.available && p.h2load);
    if (h2Rows.length > 0) {
      const { h2: first } = h2Rows[0].h2load!;
      lines.push(`## HTTP/2 and HTTP/1.1 (h2load, ${first.clients * first.streams} requests in flight, 1 KiB file)`);
      lines.push('');
      lines.push(
        `| path | HTTP/2 req/s (${first.clients} connections × ${first.streams} streams) | × nginx TLS | × Caddy chain | HTTP/1.1 req/s (${first.clients * first.streams} connections) | × nginx TLS | × Caddy chain | HTTP/2 × HTTP/1.1 | mean ms h2 / 1.1 | not 2xx or failed |`,
      );
      lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      for (const p of h2Rows) {
        const { h2, http1 } = p.h2load!;
        lines.push(
          `| ${p.label} | ${f(h2.requestsPerSec)} | ${peers(h2.requestsPerSec, nginxTls?.h2load?.h2.requestsPerSec, caddy?.h2load?.h2.requestsPerSec)} | ${f(http1.requestsPerSec)} | ${peers(http1.requestsPerSec, nginxTls?.h2load?.http1.requestsPerSec, caddy?.h2load?.http1.requestsPerSec)} | ${f(ratio(h2.requestsPerSec, http1.requestsPerSec), 2)} | ${f(h2.meanMs, 2)} / ${f(http1.meanMs, 2)} | ${h2.failed + h2.non2xx} / ${http1.failed + http1.non2xx} |`,
        );
      }
      lines.push('');
    }
  }
  if (r.wan.length > 0) {
    lines.push(`## WAN run (delay relay, ${r.settings.wanDelayMsEachWay} ms each way)`);
    lines.push('');
    lines.push('| link | one 256 MiB download, MB/s | note |');
    lines.push('| --- | ---: | --- |');
    for (const w of r.wan) {
      if (!w.available || !w.download) {
        lines.push(`| ${w.label} | ${NA} | ${w.reason ?? ''} |`);
        continue;
      }
      const cut = w.download.error ? ` (${w.download.error})` : w.download.complete ? '' : ' (partial: time limit)';
      lines.push(`| ${w.label} | ${f(w.download.mbPerSec, 1)}${cut} | ${w.note ?? ''} |`);
    }
    lines.push('');
  }
  lines.push(...pageLoadSection(r), ...policyCostSection(r), ...policyEvalSection(r));
  for (const p of rows) {
    for (const [role, prof] of Object.entries(p.profiles ?? {})) {
      lines.push('');
      lines.push(
        `## Where the ${role}'s CPU goes — ${p.label}, wrk 64 connections, ${f(prof.requestsPerSec)} req/s, ${f(prof.busyPercent)}% busy`,
      );
      lines.push('');
      lines.push(
        `Self time as a share of the busy samples; the profile is \`${prof.file}\` (Chrome DevTools, speedscope).`,
      );
      lines.push('');
      lines.push('| % | file | % | function |');
      lines.push('| ---: | --- | ---: | --- |');
      for (let i = 0; i < Math.max(prof.files.length, prof.functions.length); i++) {
        const a = prof.files[i];
        const b = prof.functions[i];
        lines.push(
          `| ${a ? f(a.selfPercent, 1) : ''} | ${a ? `\`${a.name}\`` : ''} | ${b ? f(b.selfPercent, 1) : ''} | ${b ? `\`${b.name}\`` : ''} |`,
        );
      }
    }
  }
  const failures = r.paths.flatMap((p) =>
    Object.entries(p.failures).map(([m, e]) => `- ${p.label}, ${m}: ${e.split('\n')[0]}`),
  );
  for (const p of r.paths) {
    for (const d of [p.downloadSingle, p.downloadParallel]) {
      if (d?.error)
        failures.push(`- ${p.label}, ${d.parallel === 1 ? 'single' : `${d.parallel}-parallel`} download: ${d.error}`);
    }
  }
  const unavailable = r.paths.filter((p) => !p.available).map((p) => `- ${p.label}: ${p.reason ?? NA}`);
  if (failures.length || unavailable.length || r.notes.length) {
    lines.push('');
    lines.push('## Notes');
    lines.push('');
    lines.push(...unavailable, ...failures, ...r.notes.map((n) => `- ${n}`));
  }
  lines.push('');
  return lines.join('\n');
}
