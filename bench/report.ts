/**
 * Turns one run's results into the target checks (issue 6) and a markdown report: figures, ratios against nginx
 * one-hop and direct measured in the same run, each target met / not met / not yet available.
 */
import { pageLoadTable } from './page-load.ts';
import { policyEvalTable } from './policy-eval.ts';
import type { LoadResult, PathId, PathResult, Results, TargetCheck } from './results.ts';

const NA = 'not yet available';

function path(r: Results, id: PathId): PathResult | undefined {
  return r.paths.find((p) => p.id === id && p.available);
}

function loadAt(p: PathResult | undefined, connections: number): LoadResult | undefined {
  return p?.load.find((l) => l.connections === connections);
}

function rps(p: PathResult | undefined, connections = 64): number | undefined {
  return loadAt(p, connections)?.median.requestsPerSec;
}

/** CPU µs per request summed over the proxy's processes (edge + connector; nginx; haproxy). */
export function proxyCpu(p: PathResult | undefined, connections = 64): number | undefined {
  const l = loadAt(p, connections);
  if (!p || !l || p.proxyRoles.length === 0) return undefined;
  return p.proxyRoles.reduce((sum, role) => sum + (l.cpuUsPerRequest[role] ?? Number.NaN), 0);
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a !== undefined && b !== undefined && b > 0 && Number.isFinite(a) ? a / b : undefined;
}

function check(
  name: string,
  goal: string,
  unit: string,
  measured: number | undefined,
  ok: (v: number) => boolean,
  detail: string,
  why = 'the Drawbridge rows are not measured yet',
): TargetCheck {
  if (measured === undefined || !Number.isFinite(measured)) {
    return { name, goal, measured: null, unit, status: 'not yet available', detail: why };
  }
  return { name, goal, measured, unit, status: ok(measured) ? 'met' : 'not met', detail };
}

const f = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v)
    ? '—'
    : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function evaluateTargets(r: Results): TargetCheck[] {
  const nginx = path(r, 'nginx');
  const direct = path(r, 'direct');
  const pass = path(r, 'drawbridge-passthrough');
  const pre = path(r, 'drawbridge-preauth');
  const wanDb = r.wan.find((w) => w.label.startsWith('Drawbridge') && w.available && w.download);
  const checks: TargetCheck[] = [];

  const smallRatio = ratio(rps(pass), rps(nginx));
  checks.push(
    check(
      'small requests',
      '≥ 0.35 × nginx one-hop requests/s (1 KiB, 64 conns)',
      '×',
      smallRatio,
      (v) => v >= 0.35,
      `passthrough ${f(rps(pass))} req/s vs nginx one-hop ${f(rps(nginx))} req/s`,
    ),
  );

  const cpuRatio = ratio(proxyCpu(pass), proxyCpu(nginx));
  const split = loadAt(pass, 64)?.cpuUsPerRequest;
  checks.push(
    check(
      'CPU per request',
      'edge + connector ≤ 5 × nginx one-hop',
      '×',
      cpuRatio,
      (v) => v <= 5,
      `edge ${f(split?.['edge'])} + connector ${f(split?.['connector'])} = ${f(proxyCpu(pass))} µs vs nginx ${f(proxyCpu(nginx))} µs per request (64 connections)`,
    ),
  );

  const dlRatio = ratio(pass?.downloadSingle?.mbPerSec, nginx?.downloadSingle?.mbPerSec);
  checks.push(
    check(
      'one large download',
      '≥ 0.30 × nginx one-hop (256 MiB)',
      '×',
      dlRatio,
      (v) => v >= 0.3,
      `passthrough ${f(pass?.downloadSingle?.mbPerSec)} MB/s vs nginx one-hop ${f(nginx?.downloadSingle?.mbPerSec)} MB/s`,
    ),
  );

  const preRatio = ratio(rps(pre), rps(pass));
  checks.push(
    check(
      'pre-authenticated',
      '≥ 0.90 × passthrough requests/s',
      '×',
      preRatio,
      (v) => v >= 0.9,
      `pre-authenticated ${f(rps(pre))} req/s vs passthrough ${f(rps(pass))} req/s`,
      pass ? 'the pre-authenticated row is not measured yet' : undefined,
    ),
  );

  const p99 = pass?.rate && direct?.rate ? pass.rate.latencyMs.p99 - direct.rate.latencyMs.p99 : undefined;
  checks.push(
    check(
      'latency at 1,000 req/s',
      'p99 ≤ direct p99 + 3 ms',
      'ms over direct',
      p99,
      (v) => v <= 3,
      `passthrough p99 ${f(pass?.rate?.latencyMs.p99, 2)} ms vs direct ${f(direct?.rate?.latencyMs.p99, 2)} ms`,
    ),
  );

  checks.push(
    check(
      'WAN download',
      '≥ 100 MB/s for one 256 MiB download over the 20 ms relay',
      'MB/s',
      wanDb?.download?.mbPerSec,
      (v) => v >= 100,
      `Drawbridge over the relay: ${f(wanDb?.download?.mbPerSec)} MB/s${wanDb?.download?.complete === false ? ' (stopped at the time limit)' : ''}`,
    ),
  );

  checks.push(
    check(
      'idle TLS clients',
      'edge ≤ 12 MiB per 1,000 idle keep-alive TLS connections',
      'MiB',
      pass?.idleTls?.mibPer1000,
      (v) => v <= 12,
      `edge RSS +${f(pass?.idleTls?.mibPer1000, 1)} MiB for 1,000 (nginx one-hop: ${f(nginx?.idleTls?.mibPer1000, 1)} MiB)`,
    ),
  );

  checks.push(
    check(
      'idle WebSockets',
      '≤ 16 KiB per idle WebSocket, edge + connector',
      'KiB',
      pass?.idleWebSockets?.kibEach,
      (v) => v <= 16,
      `edge + connector RSS +${f(pass?.idleWebSockets?.kibEach, 1)} KiB each (nginx one-hop: ${f(nginx?.idleWebSockets?.kibEach, 1)} KiB)`,
    ),
  );
  return checks;
}

/** An idle-connection figure, flagged when the server closed some of them before the reading. */
function idleText(r: PathResult['idleTls'], value: number | undefined): string {
  if (!r) return '—';
  const closed = r.opened - r.stillOpen;
  return `${f(value, 1)}${closed > 0 ? ` (${closed} of ${r.opened} closed by the server)` : ''}${r.failed ? ` (${r.failed} failed to open)` : ''}`;
}

/** p50 / p99, or "saturated" when the path could not keep up with the offered rate (latency is then queueing). */
function rateText(rate: NonNullable<PathResult['rate']>): string {
  const failed = rate.errors / Math.max(1, rate.sent);
  const text = `${f(rate.latencyMs.p50, 2)} / ${f(rate.latencyMs.p99, 2)}`;
  return failed > 0.01 ? `saturated (${f(failed * 100)}% not served in time; ${text})` : text;
}

function missingText(p: PathResult): string {
  if (p.reason?.startsWith('skipped')) return 'skipped';
  return p.reason?.startsWith('failed') ? 'failed (see notes)' : NA;
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

export function markdown(r: Results): string {
  const nginx = path(r, 'nginx');
  const direct = path(r, 'direct');
  const lines: string[] = [];
  lines.push(`# Drawbridge bench — ${r.date}${r.quick ? ' (quick run)' : ''}`);
  lines.push('');
  lines.push(
    `${r.machine.cpus} CPUs, ${r.machine.kernel}, Node ${r.machine.node}, ${r.machine.nginx}, ${r.machine.haproxy}, ${r.machine.wrk}. ` +
      (r.paths.some((p) => p.available)
        ? `wrk: ${r.settings.threads} threads, ${r.settings.wrkDurationS} s × ${r.settings.repetitions} (median), 1 KiB file. `
        : '') +
      `Everything on loopback, client and servers sharing the same CPUs: compare ratios within one run, not absolute figures across machines.`,
  );
  lines.push('');
  // A run of the in-process steps or the page load alone (`--only=…`) measured no path: no empty tables then.
  const anyPath = r.paths.some((p) => p.available);
  if (anyPath) {
    lines.push('## Requests');
    lines.push('');
    lines.push(
      '| path | req/s c=64 | × nginx | × direct | req/s c=256 | × nginx | p50 / p99 at 1,000 req/s (ms) | proxy CPU µs/req | × nginx | backend CPU µs/req |',
    );
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const p of r.paths) {
      if (!p.available) {
        lines.push(`| ${p.label} | ${missingText(p)} | | | | | | | | |`);
        continue;
      }
      const rate = p.rate ? rateText(p.rate) : '—';
      const backendCpu = loadAt(p, 64)?.cpuUsPerRequest['backend'];
      lines.push(
        `| ${p.label} | ${f(rps(p))} | ${f(ratio(rps(p), rps(nginx)), 2)} | ${f(ratio(rps(p), rps(direct)), 2)} | ${f(rps(p, 256))} | ${f(ratio(rps(p, 256), rps(nginx, 256)), 2)} | ${rate} | ${f(proxyCpu(p), 1)} | ${f(ratio(proxyCpu(p), proxyCpu(nginx)), 1)} | ${f(backendCpu, 1)} |`,
      );
    }
    lines.push('');
    lines.push('## Transfers and memory');
    lines.push('');
    lines.push(
      '| path | 256 MiB single MB/s | × nginx | × direct | 4 × 256 MiB parallel MB/s | × nginx | idle TLS conns, MiB per 1,000 | idle WebSockets, KiB each |',
    );
    lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const p of r.paths) {
      if (!p.available) {
        lines.push(`| ${p.label} | ${missingText(p)} | | | | | | |`);
        continue;
      }
      const single = p.downloadSingle?.mbPerSec;
      const par = p.downloadParallel?.mbPerSec;
      lines.push(
        `| ${p.label} | ${f(single)}${p.downloadSingle?.complete === false ? ' (partial)' : ''} | ${f(ratio(single, nginx?.downloadSingle?.mbPerSec), 2)} | ${f(ratio(single, direct?.downloadSingle?.mbPerSec), 2)} | ${f(par)} | ${f(ratio(par, nginx?.downloadParallel?.mbPerSec), 2)} | ${idleText(p.idleTls, p.idleTls?.mibPer1000)} | ${idleText(p.idleWebSockets, p.idleWebSockets?.kibEach)} |`,
      );
    }
    lines.push('');
    const h2Rows = r.paths.filter((p) => p.available && p.h2load);
    if (h2Rows.length > 0) {
      const { h2: first } = h2Rows[0].h2load!;
      lines.push(`## HTTP/2 and HTTP/1.1 (h2load, ${first.clients * first.streams} requests in flight, 1 KiB file)`);
      lines.push('');
      lines.push(
        `| path | HTTP/2 req/s (${first.clients} connections × ${first.streams} streams) | HTTP/1.1 req/s (${first.clients * first.streams} connections) | × HTTP/1.1 | mean ms h2 / 1.1 | not 2xx or failed |`,
      );
      lines.push('| --- | ---: | ---: | ---: | ---: | ---: |');
      for (const p of h2Rows) {
        const { h2, http1 } = p.h2load!;
        lines.push(
          `| ${p.label} | ${f(h2.requestsPerSec)} | ${f(http1.requestsPerSec)} | ${f(ratio(h2.requestsPerSec, http1.requestsPerSec), 2)} | ${f(h2.meanMs, 2)} / ${f(http1.meanMs, 2)} | ${h2.failed + h2.non2xx} / ${http1.failed + http1.non2xx} |`,
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
  lines.push(...pageLoadSection(r), ...policyEvalSection(r));
  if (anyPath) {
    lines.push('## Targets (issue 6)');
    lines.push('');
    lines.push('| target | goal | measured | status |');
    lines.push('| --- | --- | --- | --- |');
    for (const c of r.targets) {
      const measured = c.measured === null ? '—' : `${f(c.measured, c.unit === '×' ? 2 : 1)} ${c.unit}`;
      const status = c.status === 'met' ? '**met**' : c.status === 'not met' ? '**not met**' : NA;
      lines.push(`| ${c.name} | ${c.goal} | ${measured} — ${c.detail} | ${status} |`);
    }
  }
  for (const p of r.paths) {
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
