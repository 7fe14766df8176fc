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
import { startRelay } from './relay.ts';
import { evaluateTargets, markdown } from './report.ts';
import { median, pageLoadTable, writePage, type PageLoadMode } from './page-load.ts';
import { policyEvalTable } from './policy-eval.ts';
import type { PathResult, Results } from './results.ts';
import { parseWrk } from './wrk.ts';
import { parseH2load } from './h2load.ts';

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
      rate: 1000,
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
