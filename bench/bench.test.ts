/**
 * Unit tests of the bench's own logic (no servers): wrk output parsing, the delay relay, profile summaries and the
 * target checks. Run: node --test bench/bench.test.ts
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { summarise } from './profile.ts';
import { gcText, summariseGc } from './inspector.ts';
import { startRelay } from './relay.ts';
import { displayOrder, evaluateTargets, markdown, policyCostSection, rateText } from './report.ts';
import { readmeSection } from './readme.ts';
import { parseArgs } from './args.ts';
import { caddyConfig, HOP_PATH } from './caddy.ts';
import { fixedRate, type RateResult } from './rate.ts';
import { createServer as createHttpServer } from 'node:http';
import { median, pageLoadTable, writePage, type PageLoadMode } from './page-load.ts';
import { policyEvalTable } from './policy-eval.ts';
import type { PathResult, Results } from './results.ts';
import { parseWrk } from './wrk.ts';
import { parseH2load } from './h2load.ts';
import { parseProcStat, stealShare } from './cpu.ts';

const WRK = `Running 2s test @ http://127.0.0.1:8080/1k
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.91ms    1.20ms  17.91ms   78.05%
    Req/Sec    17.23k     1.02k   19.41k    70.00%
  Latency Distribution
     50%  1.71ms
     75%  2.35ms
     90%    3.26ms
     99%  850.00us
  68512 requests in 2.00s, 85.09MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 7
Requests/sec:  34245.60
Transfer/sec:     42.53MB
`;

test('parseWrk reads throughput, percentiles in any unit, and errors', () => {
  const r = parseWrk(WRK, 64);
  assert.equal(r.requests, 68512);
  assert.equal(r.requestsPerSec, 34245.6);
  assert.equal(r.durationS, 2);
  assert.equal(r.latencyMs.p50, 1.71);
  assert.equal(r.latencyMs.p99, 0.85);
  assert.deepEqual(r.errors, { connect: 0, read: 3, write: 0, timeout: 1, status: 7 });
  assert.throws(() => parseWrk('unable to connect', 64), /could not parse/);
});

test('the relay delays each direction and keeps the bytes in order', async () => {
  const server = createServer((s) => s.pipe(s)); // echo
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const relay = await startRelay((server.address() as AddressInfo).port, { delayMs: 10 });
  try {
    const socket = connect(relay.port, '127.0.0.1');
    await once(socket, 'connect');
    const payload = Buffer.alloc(2 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 251;
    const started = performance.now();
    const chunks: Buffer[] = [];
    let received = 0;
    const done = new Promise<void>((resolve) =>
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        received += c.length;
        if (received >= payload.length) resolve();
      }),
    );
    for (let off = 0; off < payload.length; off += 65536) socket.write(payload.subarray(off, off + 65536));
    await done;
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 19, `a round trip through the relay takes ≥ 20 ms (took ${elapsed.toFixed(1)})`);
    assert.ok(Buffer.concat(chunks).equals(payload), 'same bytes, same order');
    socket.destroy();
  } finally {
    await relay.close();
    server.close();
  }
});

test('summarise gives self time by function and file, without idle', () => {
  const node = (id: number, functionName: string, url: string, hitCount: number) => ({
    id,
    callFrame: { functionName, url, lineNumber: 0 },
    hitCount,
  });
  const s = summarise(
    {
      startTime: 0,
      endTime: 1,
      nodes: [
        node(1, '(idle)', '', 50),
        node(2, 'handle', 'file:///x/src/edge/proxy/handler.ts', 30),
        node(3, 'writev', '', 20),
      ],
    },
    'p.cpuprofile',
    1000,
  );
  assert.equal(s.busyPercent, 50);
  assert.equal(s.functions[0].name, 'handle src/edge/proxy/handler.ts:1');
  assert.equal(s.functions[0].selfPercent, 60);
  assert.equal(s.files[1].name, 'writev');
});

function row(id: PathResult['id'], rps: number, cpu: Record<string, number>, mbPerSec: number): PathResult {
  const wrk = {
    connections: 64,
    durationS: 10,
    requests: rps * 10,
    requestsPerSec: rps,
    latencyMs: { p50: 1, p75: 1, p90: 1, p99: 2 },
    errors: { connect: 0, read: 0, write: 0, timeout: 0, status: 0 },
  };
  return {
    id,
    label: id,
    available: true,
    proxyRoles: id === 'nginx' ? ['proxy'] : id === 'direct' ? [] : ['edge', 'connector'],
    load: [{ connections: 64, median: wrk, runs: [wrk], cpuUsPerRequest: cpu }],
    downloadSingle: { parallel: 1, bytes: 1, seconds: 1, mbPerSec, complete: true },
    rates: [],
    failures: {},
  };
}

test('targets: ratios against nginx one-hop, met / not met / not yet available', () => {
  const results = {
    paths: [
      row('direct', 30000, { backend: 25 }, 3000),
      row('nginx', 20000, { proxy: 30, backend: 25 }, 1000),
      row('drawbridge-passthrough', 8000, { edge: 90, connector: 80, backend: 25 }, 250),
    ],
    wan: [],
  } as unknown as Results;
  const checks = Object.fromEntries(evaluateTargets(results).map((c) => [c.name, c]));
  assert.equal(checks['small requests'].status, 'met'); // 0.40 ≥ 0.35
  assert.equal(checks['small requests'].measured, 0.4);
  assert.equal(checks['CPU per request'].status, 'not met'); // 170 / 30 = 5.7 > 5
  assert.equal(checks['one large download'].status, 'not met'); // 0.25 < 0.30
  assert.equal(checks['pre-authenticated'].status, 'not yet available');
  assert.equal(checks['WAN download'].status, 'not yet available');
});

const H2LOAD = `starting benchmark...
TLS Protocol: TLSv1.3
Cipher: TLS_AES_256_GCM_SHA384
Server Temp Key: X25519 253 bits
Application protocol: h2
Main benchmark duration is over for thread #0. Stopping all clients.

finished in 2.00s, 42815.00 req/s, 43.02MB/s
requests: 85630 total, 85670 started, 85630 done, 85620 succeeded, 4 failed, 6 errored, 0 timeout
status codes: 85670 2xx, 1 3xx, 2 4xx, 3 5xx
traffic: 86.03MB (90210498) total, 167.59KB (171616) headers (space savings 95.34%), 83.66MB (87726080) data
                     min         max         mean         sd        +/- sd
time for request:      238us     40.70ms       912us      1.64ms    96.54%
time for connect:     4.13ms      6.07ms      4.84ms       855us    75.00%
`;

test('parseH2load reads the negotiated protocol, throughput, failures and the mean request time', () => {
  const r = parseH2load(H2LOAD, 16, 10);
  assert.equal(r.protocol, 'h2');
  assert.equal(r.requestsPerSec, 42815);
  assert.equal(r.succeeded, 85620);
  assert.equal(r.failed, 10);
  assert.equal(r.non2xx, 6);
  assert.equal(r.meanMs, 0.912);
  assert.deepEqual([r.clients, r.streams], [16, 10]);
  assert.throws(() => parseH2load('connect failed', 16, 10), /could not parse/);
});

test('median: middle value, mean of the two middle ones, NaN for none', () => {
  assert.equal(median([5, 1, 3]), 3);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.ok(Number.isNaN(median([])));
});

test('the page-load page links 60 assets of a few KiB, each of them written', () => {
  const root = mkdtempSync(join(tmpdir(), 'bench-page-'));
  try {
    assert.equal(writePage(root), '/page/index.html');
    const html = readFileSync(join(root, 'page', 'index.html'), 'utf8');
    const refs = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(refs.length, 60);
    const files = readdirSync(join(root, 'page'));
    for (const ref of refs) {
      assert.ok(files.includes(ref), ref);
      const size = readFileSync(join(root, 'page', ref)).length;
      assert.ok(size >= 4096 && size < 8192, `${ref}: ${size} bytes`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

const mode = (protocol: string, runsMs: number[]): PageLoadMode => ({
  protocols: [protocol],
  runsMs,
  medianMs: median(runsMs),
  assets: 60,
});

test('page-load table: both protocols, their medians and the ratio', () => {
  const table = pageLoadTable({
    url: 'https://bench-page-contoso.apps.localhost:8443/page/index.html',
    rttMs: 20,
    runs: 3,
    http1: mode('http/1.1', [900, 1000, 1100]),
    http2: mode('h2', [500, 400, 600]),
    loopback: { http1: mode('http/1.1', [300, 300, 300]), http2: mode('h2', [200, 200, 200]) },
  });
  assert.match(
    table,
    /\| 20 ms round trip \(relay\) \| `--disable-http2` \| http\/1.1 \| 1000 \| 900, 1000, 1100 \| 60 \|/,
  );
  assert.match(table, /\| 20 ms round trip \(relay\) \| HTTP\/2 allowed \| h2 \| 500 \|/);
  assert.match(table, /HTTP\/1.1 ÷ HTTP\/2: \*\*2.00 ×\*\* \(on loopback: 1.50 ×\)/);
});

test('policy-eval table: µs per evaluation and the cost over the no-policy baseline', () => {
  const table = policyEvalTable({
    evaluationsPerRound: 1000,
    rounds: 3,
    rows: [
      { label: 'no policy (baseline)', clientIp: '127.0.0.1', verdict: 'allow', policies: 0, us: 0.5 },
      { label: 'demo policies, Blocked range', clientIp: '127.0.0.70', verdict: 'block', policies: 2, us: 2 },
    ],
  });
  assert.match(table, /\| no policy \(baseline\) \| 127.0.0.1 \| 0 \| allow \| 0.50 \| — \|/);
  assert.match(table, /\| demo policies, Blocked range \| 127.0.0.70 \| 2 \| block \| 2.00 \| 1.50 \|/);
});

test('report: a run of the in-process steps alone has their sections and no empty path tables', () => {
  const r = {
    date: '2026-12-04T00:00:00Z',
    quick: false,
    durationS: 1,
    machine: { cpus: 2, kernel: 'Linux', node: 'v24', nginx: 'nginx', haproxy: 'haproxy', wrk: 'wrk', curl: 'curl' },
    settings: {
      wrkDurationS: 10,
      repetitions: 3,
      connections: [64],
      threads: 2,
      rates: [1000, 3000],
      rateDurationS: 20,
      idleConnections: 1000,
      smallFileBytes: 1024,
      largeFileBytes: 1,
      wanDelayMsEachWay: 10,
      hostResolution: '',
    },
    paths: [],
    wan: [],
    targets: [],
    notes: [],
    policyEval: {
      evaluationsPerRound: 10,
      rounds: 1,
      rows: [{ label: 'no policy (baseline)', clientIp: '127.0.0.1', verdict: 'allow', policies: 0, us: 0.4 }],
    },
    pageLoad: { error: 'no Chromium at /usr/bin/chromium' },
  } as Results;
  const md = markdown(r);
  assert.match(md, /## Conditional access per request/);
  assert.match(md, /## Page load in Chromium[^\n]*\n\nnot yet available: no Chromium/);
  assert.doesNotMatch(md, /## Requests|## Targets|## WAN run|wrk: 2 threads/);
});

function rate(r: number, p99: number, errors = 0): RateResult {
  return {
    rate: r,
    durationS: 10,
    sent: r * 10,
    ok: r * 10 - errors,
    errors,
    latencyMs: { p50: p99 / 4, p90: p99 / 2, p99, p999: p99 * 2, max: p99 * 3 },
    lagP99Ms: 0,
    servedPerSec: r - errors / 10,
  };
}

/** A full run's results: baselines, the Caddy chain, Drawbridge after and before. */
function fullRun(): Results {
  const direct = { ...row('direct', 30000, { backend: 25 }, 3000), rates: [rate(1000, 0.5), rate(3000, 0.6)] };
  const nginx = {
    ...row('nginx', 20000, { proxy: 30, backend: 25 }, 1000),
    rates: [rate(1000, 1), rate(3000, 1.2)],
    idleTls: idle(12.5, 3),
    idleWebSockets: idle(2.9, 2.9),
  };
  const caddy = {
    ...row('caddy', 10000, { edge: 40, connector: 40, backend: 25 }, 500),
    label: 'Caddy chain',
    rates: [rate(1000, 2), rate(3000, 4)],
    idleTls: idle(20, 20),
    idleWebSockets: { ...idle(40, 40), kibEachByRole: { edge: 25, connector: 15 } },
  };
  const after = {
    ...row('drawbridge-passthrough', 8000, { edge: 60, connector: 40, backend: 25 }, 250),
    label: 'Drawbridge passthrough — after (bbbbbbb)',
    rates: [rate(1000, 3), rate(3000, 40, 900)],
    idleTls: idle(11, 11),
    idleWebSockets: { ...idle(20, 20), kibEachByRole: { edge: 8, connector: 12 } },
  };
  const before = {
    ...row('drawbridge-passthrough', 6000, { edge: 130, connector: 90, backend: 25 }, 200),
    label: 'Drawbridge passthrough — before (aaaaaaa)',
    before: 'aaaaaaa',
    rates: [rate(1000, 24), rate(3000, 50, 3000)],
    idleTls: idle(50, 50),
    idleWebSockets: idle(27, 27),
  };
  return {
    date: '2026-12-04T00:00:00Z',
    quick: false,
    durationS: 1,
    machine: {
      cpus: 2,
      kernel: 'Linux',
      node: 'v24',
      nginx: 'nginx',
      haproxy: 'haproxy',
      caddy: 'caddy/2.6.2',
      wrk: 'wrk',
      curl: 'curl',
    },
    before: { ref: 'main', sha: 'aaaaaaa' },
    sha: 'bbbbbbb',
    settings: {
      wrkDurationS: 10,
      repetitions: 3,
      connections: [64],
      threads: 2,
      rates: [1000, 3000],
      rateDurationS: 15,
      idleConnections: 1000,
      smallFileBytes: 1024,
      largeFileBytes: 1,
      wanDelayMsEachWay: 10,
      hostResolution: '',
    },
    paths: [direct, nginx, caddy, after, before],
    wan: [],
    targets: [],
    notes: [],
  } as Results;
}

function idle(mibPer1000: number, kibEach: number): PathResult['idleTls'] {
  return {
    kind: 'tls',
    opened: 1000,
    stillOpen: 1000,
    failed: 0,
    rssBeforeBytes: 0,
    rssAfterBytes: 0,
    gcForced: true,
    mibPer1000,
    kibEach,
  };
}

test('targets: after, before and the Caddy chain from one run; issue 16 marked; not met points somewhere', () => {
  const r = fullRun();
  const checks = Object.fromEntries(evaluateTargets(r).map((c) => [c.name, c]));
  const cpu = checks['CPU per request'];
  assert.equal(cpu.issue16, true);
  assert.equal(cpu.measured, 100 / 30);
  assert.equal(cpu.before, 220 / 30); // the before build's edge + connector
  assert.equal(cpu.caddy, 80 / 30); // the Caddy chain in Drawbridge's place
  assert.equal(cpu.status, 'met');
  const latency = checks['latency at 1,000 req/s'];
  assert.equal(latency.measured, 2.5); // 3 − 0.5
  assert.equal(latency.before, 23.5);
  assert.equal(latency.caddy, 1.5);
  assert.equal(latency.status, 'met');
  assert.equal(checks['idle TLS clients'].status, 'met');
  assert.equal(checks['idle TLS clients'].before, 50);
  const ws = checks['idle WebSockets'];
  assert.equal(ws.status, 'not met'); // 20 > 16
  assert.match(ws.why ?? '', /connector holds the most \(12\.0 KiB each\)/);
  assert.match(ws.detail, /\(edge 8\.0 \+ connector 12\.0\)/);
  // Not measured for the Caddy chain: no column value at all (not "—").
  assert.equal(checks['pre-authenticated'].caddy, undefined);
  assert.equal(checks['WAN download'].status, 'not yet available');
  // Drawbridge measured but not its baseline (--only): the target says which is missing.
  const alone = evaluateTargets({ ...r, paths: r.paths.filter((p) => p.id === 'drawbridge-passthrough') } as Results);
  assert.equal(alone[1].status, 'not yet available');
  assert.match(alone[1].detail, /a row it is compared with was not measured/);
  // Without --before, no before figures.
  const { before: _, ...noBefore } = r;
  assert.equal(
    evaluateTargets({ ...noBefore, paths: r.paths.filter((p) => !p.before) } as Results)[0].before,
    undefined,
  );
});

test('targets: a CPU target not met points at the profile sections, or at --profile when there are none', () => {
  const r = fullRun();
  const after = r.paths.find((p) => p.id === 'drawbridge-passthrough' && !p.before)!;
  after.load[0].cpuUsPerRequest = { edge: 120, connector: 90, backend: 25 }; // 210 / 30 = 7 > 5
  let cpu = evaluateTargets(r).find((c) => c.name === 'CPU per request')!;
  assert.equal(cpu.status, 'not met');
  assert.match(cpu.why ?? '', /npm run bench -- --profile/);
  after.profiles = {
    edge: { file: 'e.cpuprofile', requestsPerSec: 1, busyPercent: 90, files: [], functions: [] },
  } as unknown as PathResult['profiles'];
  cpu = evaluateTargets(r).find((c) => c.name === 'CPU per request')!;
  assert.match(cpu.why ?? '', /"Where the edge's CPU goes — Drawbridge passthrough — after \(bbbbbbb\)" below/);
});

test('summariseGc: scavenges, full collections and their steps apart, with count, total and longest pause', () => {
  // perf_hooks kinds: 1 minor, 2 minor mark-sweep, 4 major, 8 incremental, 16 weak callbacks.
  const gc = summariseGc([
    [1, 1.5],
    [1, 2.5],
    [2, 1],
    [8, 0.5],
    [16, 0.25],
    [4, 41],
    [4, 9],
  ]);
  assert.deepEqual(gc.minor, { count: 3, totalMs: 5, maxMs: 2.5 });
  assert.deepEqual(gc.major, { count: 2, totalMs: 50, maxMs: 41 });
  assert.deepEqual(gc.steps, { count: 2, totalMs: 0.75, maxMs: 0.5 });
  assert.equal(gcText(gc), '3 scavenges (longest 2.5 ms), 2 full (longest 41.0 ms, 50.0 ms in all)');
  assert.equal(gcText(summariseGc([[1, 1]])), '1 scavenges (longest 1.0 ms), no full collection');
});

test('targets: a latency target not met points at the GC pauses of that run when they were recorded', () => {
  const r = fullRun();
  const after = r.paths.find((p) => p.id === 'drawbridge-passthrough' && !p.before)!;
  after.rates[0] = rate(1000, 24);
  let latency = evaluateTargets(r).find((c) => c.name === 'latency at 1,000 req/s')!;
  assert.equal(latency.status, 'not met');
  assert.match(latency.why ?? '', /--profile/, 'no GC recorded: the CPU profile, as before');
  after.rates[0].gc = {
    edge: summariseGc([
      [1, 1],
      [4, 45],
    ]),
    connector: summariseGc([[1, 2]]),
  };
  latency = evaluateTargets(r).find((c) => c.name === 'latency at 1,000 req/s')!;
  assert.match(latency.why ?? '', /edge 1 scavenges \(longest 1\.0 ms\), 1 full \(longest 45\.0 ms/);
  assert.match(latency.why ?? '', /connector 1 scavenges \(longest 2\.0 ms\), no full collection/);
  r.targets = evaluateTargets(r);
  const md = markdown(r);
  const section = md.indexOf('## Where the latency tail comes from');
  assert.ok(section > md.indexOf('## Latency (open loop)'), 'after the latency table');
  const table = md.slice(section).split('\n## ')[0];
  assert.match(
    table,
    /\| Drawbridge passthrough — after \(bbbbbbb\) \| edge \| 24\.00 \/ [\d.]+ \| 1 scavenges \(longest 1\.0 ms\), 1 full/,
  );
  assert.match(table, /\| connector \|/);
});

test('report: before beside after, × nginx and × Caddy chain columns, latency at both rates, targets first', () => {
  const r = fullRun();
  r.targets = evaluateTargets(r);
  const md = markdown(r);
  // The targets table leads, with before / after / Caddy chain columns.
  assert.ok(md.indexOf('## Targets') < md.indexOf('## Requests'));
  assert.match(md, /\| target \| goal \| before \(aaaaaaa\) \| after \(bbbbbbb\) \| Caddy chain \| status \|/);
  assert.match(md, /\| ★ CPU per request \| [^|]+ \| 7\.33 × \| 3\.33 × — [^|]+ \| 2\.67 × \| \*\*met\*\* \|/);
  assert.match(
    md,
    /\| ★ idle WebSockets \| [^|]+ \| 27\.0 KiB \| 20\.0 KiB — [^|]+ \| 40\.0 KiB \| \*\*not met\*\* — the connector/,
  );
  // Requests: 8,000 req/s is 0.40 × nginx and 0.80 × the Caddy chain.
  assert.match(md, /\| Drawbridge passthrough — after \(bbbbbbb\) \| 8,000 \| 0\.40 \| 0\.80 \| 0\.27 \|/);
  // The before row sits just above the after row.
  const b = md.indexOf('| Drawbridge passthrough — before (aaaaaaa) | 6,000');
  const a = md.indexOf('| Drawbridge passthrough — after (bbbbbbb) | 8,000');
  assert.ok(b > 0 && a > b && md.slice(b, a).split('\n').length === 2, 'before immediately above after');
  // Latency: p50 / p99 / p99.9 at both rates, p99 against the peers; saturated when > 1% was not served in time.
  assert.match(
    md,
    /p50 \/ p99 \/ p99\.9 ms at 1,000 req\/s \| p99 × nginx \| p99 × Caddy chain \| p50 \/ p99 \/ p99\.9 ms at 3,000 req\/s/,
  );
  assert.match(
    md,
    /\| Caddy chain \| 0\.50 \/ 2\.00 \/ 4\.00 \| 2\.00 \| 1\.00 \| 1\.00 \/ 4\.00 \/ 8\.00 \| 3\.33 \| 1\.00 \|/,
  );
  assert.match(
    md,
    /\| saturated \(3% not served in time, served 2,910 req\/s; 10\.00 \/ 40\.00 \/ 80\.00\) \| 33\.33 \| 10\.00 \|/,
  );
  // Idle memory with its edge / connector split.
  assert.match(md, /20\.0 \(edge 8\.0 \+ connector 12\.0\) \| 6\.90 \| 0\.50 \|/);
  // The README section starts with the targets and stops before the notes.
  const section = readmeSection(`${md}\n## Notes\n\n- a note\n`);
  assert.match(section, /^_Measured 2026-12-04T00:00:00Z[^\n]*\n\n#### Targets/);
  assert.doesNotMatch(section, /a note/);
});

test('rateText: the three percentiles, or saturated with the share not served in time', () => {
  assert.equal(rateText(rate(1000, 2)), '0.50 / 2.00 / 4.00');
  assert.equal(rateText(rate(1000, 2, 100)), '0.50 / 2.00 / 4.00'); // 1% late: still keeping up
  assert.equal(rateText(rate(1000, 2, 101)), 'saturated (1% not served in time, served 990 req/s; 0.50 / 2.00 / 4.00)');
  // Everything answered, but late: served well below the offered rate.
  assert.equal(
    rateText({ ...rate(1000, 2000), servedPerSec: 600 }),
    'saturated (served 600 req/s; 500.00 / 2,000.00 / 4,000.00)',
  );
  assert.equal(rateText(undefined), '—');
});

test('displayOrder puts each before row just above the same row of this tree', () => {
  const r = fullRun();
  r.paths.push({ ...row('drawbridge-preauth', 1, {}, 1), before: 'aaaaaaa' }); // this tree did not measure it
  const order = displayOrder(r.paths).map((p) => `${p.id}${p.before ? '@before' : ''}`);
  assert.deepEqual(order, [
    'direct',
    'nginx',
    'caddy',
    'drawbridge-passthrough@before',
    'drawbridge-passthrough',
    'drawbridge-preauth@before',
  ]);
});

test('parseArgs: flags, --only ids, --before ref; unknown flags and option-like refs are refused', () => {
  assert.deepEqual(parseArgs([]), { quick: false, profile: false, keep: false });
  assert.deepEqual(parseArgs(['--quick', '--only=caddy, drawbridge-passthrough', '--before=HEAD~3', '--profile']), {
    quick: true,
    profile: true,
    keep: false,
    only: ['caddy', 'drawbridge-passthrough'],
    before: 'HEAD~3',
  });
  assert.throws(() => parseArgs(['--before=']), /needs a git ref/);
  assert.throws(() => parseArgs(['--before=--upload-pack=x']), /needs a git ref/);
  assert.throws(() => parseArgs(['--only=']), /names no row/);
  assert.throws(() => parseArgs(['--quik']), /unknown argument --quik/);
});

test('caddyConfig: TLS from the bench certificate, no admin endpoint, no automatic HTTPS, loopback, no HTTP/3', () => {
  const tls = { cert: '/t/cert.pem', key: '/t/key.pem', pem: '/t/both.pem' };
  const c = caddyConfig('/t', 'caddy-edge', 4443, tls, [{ handle: [] }]) as {
    admin: { disabled: boolean };
    apps: {
      tls: { certificates: { load_files: Array<{ certificate: string; key: string }> } };
      http: {
        servers: Record<string, { listen: string[]; protocols: string[]; automatic_https: { disable: boolean } }>;
      };
    };
  };
  assert.equal(c.admin.disabled, true);
  assert.deepEqual(c.apps.tls.certificates.load_files, [{ certificate: '/t/cert.pem', key: '/t/key.pem' }]);
  const server = c.apps.http.servers['caddy-edge'];
  assert.deepEqual(server.listen, ['127.0.0.1:4443']);
  assert.deepEqual(server.protocols, ['h1', 'h2']);
  assert.equal(server.automatic_https.disable, true);
  assert.ok(HOP_PATH.startsWith('/'));
});

test('policy cost: pre-authenticated with the policies against the same path without, and the difference', () => {
  const r = fullRun();
  assert.deepEqual(policyCostSection(r), [], 'nothing without both rows');
  r.paths.push(
    { ...row('drawbridge-preauth', 5000, { edge: 70, connector: 40 }, 1), label: 'with', rates: [rate(1000, 4)] },
    {
      ...row('drawbridge-preauth-no-policies', 5200, { edge: 66, connector: 40 }, 1),
      label: 'without',
      rates: [rate(1000, 3.5)],
    },
  );
  const lines = policyCostSection(r);
  assert.ok(lines.includes('| with | 5,000 | 70.0 | 110.0 | 4.00 |'));
  assert.ok(lines.includes('| without | 5,200 | 66.0 | 106.0 | 3.50 |'));
  assert.ok(lines.includes('| policies on − off | -200 | 4.0 | 4.0 | 0.50 |'));
});

test('fixedRate: with most requests failing, the percentiles are of the answers only (no empty slots)', async () => {
  let n = 0;
  const server = createHttpServer((_req, res) => {
    res.statusCode = n++ % 4 === 0 ? 200 : 500;
    res.end('x');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const r = await fixedRate({ base: `http://127.0.0.1:${port}`, headers: {}, address: '127.0.0.1' }, '/', {
      rate: 200,
      durationS: 1,
      connections: 1,
      warmupS: 0.2,
    });
    assert.ok(r.errors > 100 && r.ok > 20, `${r.ok} answered, ${r.errors} failed`);
    // Slots by request index left three in four of the first slots empty: p50 read 0.
    assert.ok(r.latencyMs.p50 > 0, `p50 ${r.latencyMs.p50}`);
    assert.ok(r.servedPerSec > 0);
  } finally {
    server.close();
  }
});

test('steal: the share of CPU time the hypervisor took between two /proc/stat readings', () => {
  const before = parseProcStat('cpu  100 0 50 800 10 0 5 35 0 0\ncpu0 50 0 25 400 5 0 2 17 0 0\n');
  assert.deepEqual(before, { total: 1000, steal: 35 });
  const after = parseProcStat('cpu  400 0 100 1100 10 0 5 385 0 0\n');
  assert.equal(stealShare(before, after), 0.35);
  assert.equal(stealShare(after, after), 0, 'no time passed');
});
