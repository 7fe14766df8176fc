/**
 * Unit tests of the bench's own logic (no servers): wrk output parsing, the delay relay, profile summaries and the
 * target checks. Run: node --test bench/bench.test.ts
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { summarise } from './profile.ts';
import { startRelay } from './relay.ts';
import { evaluateTargets } from './report.ts';
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
  const node = (id: number, functionName: string, url: string, hitCount: number) => ({ id, callFrame: { functionName, url, lineNumber: 0 }, hitCount });
  const s = summarise(
    {
      startTime: 0,
      endTime: 1,
      nodes: [node(1, '(idle)', '', 50), node(2, 'handle', 'file:///x/src/edge/proxy/handler.ts', 30), node(3, 'writev', '', 20)],
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
  const wrk = { connections: 64, durationS: 10, requests: rps * 10, requestsPerSec: rps, latencyMs: { p50: 1, p75: 1, p90: 1, p99: 2 }, errors: { connect: 0, read: 0, write: 0, timeout: 0, status: 0 } };
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
