import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { stopChild } from '../../src/cli/child.ts';
import WebSocket from 'ws';
import { startDevStack, url, logsOf, loopbackLookup, type DevStack } from '../helpers/dev-stack.ts';
import {
  startLoad,
  summarize,
  percentile,
  waitUntil,
  runConnector,
  connectorRequests,
  type GroupHealthBody,
} from '../helpers/load.ts';
import { alive } from '../helpers/alive.ts';

/**
 * Connector groups under load, against `drawbridge dev` (two connectors) with real processes: kill -9, SIGSTOP,
 * rolling SIGTERM restarts, a non-idempotent request cut mid-way, moves of apps and connectors between groups.
 * Figures go to stdout as `ha-figure` lines (detection time, failover added latency, failed requests).
 */
describe('failover: a connector group under load', { timeout: 150_000 }, () => {
  let stack: DevStack;
  let tenantId: string;
  let groupId: string;
  let base: string;
  const conns: { id: string; dir: string; pid: number; metricsUrl: string; child: ChildProcess | null }[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const figure = (name: string, value: unknown) => process.stdout.write(`ha-figure ${name} ${JSON.stringify(value)}\n`);

  before(async () => {
    stack = await startDevStack();
    const tenants = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants');
    tenantId = tenants.body.items.find((t) => t.name === 'contoso')!.id;
    groupId = (
      await stack.admin<{ items: { id: string; name: string }[] }>('GET', `/tenants/${tenantId}/connector-groups`)
    ).body.items.find((g) => g.name === 'default')!.id;
    base = url(stack, 'sample', '');
    stack.dev.connectors.forEach((c, i) =>
      conns.push({
        id: c.id,
        dir: path.join(stack.dir, `connector-${i + 1}`),
        pid: c.pid,
        metricsUrl: c.metricsUrl,
        child: null,
      }),
    );
  });
  after(async () => {
    for (const c of conns) if (c.child) await stopChild(c.child, 5000);
    await stack?.stop();
  });

  const health = async (group = groupId): Promise<GroupHealthBody> => {
    const res = await stack.admin<GroupHealthBody>('GET', `/tenants/${tenantId}/connector-groups/${group}/health`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const stateOf = async (id: string): Promise<string> =>
    (await health()).connectors.find((c) => c.id === id)?.state ?? 'absent';
  const openedTo = async (id: string): Promise<number> =>
    (await health()).connectors.find((c) => c.id === id)?.streamsOpened ?? 0;
  const restart = async (c: (typeof conns)[number]): Promise<void> => {
    const r = await runConnector(c.dir, path.join(stack.dir, 'logs', `${path.basename(c.dir)}-restart.log`));
    Object.assign(c, { pid: r.process.pid!, metricsUrl: r.metricsUrl, child: r.process });
    await waitUntil(async () => (await stateOf(c.id)) === 'healthy', 10_000, `${c.id} healthy again`);
  };
  const failures = (s: ReturnType<typeof summarize>) =>
    s.failed.map((f) => `${f.kind} ${f.error} after ${Math.round(f.ms)} ms${f.midBody ? ' (mid-body)' : ''}`);

  it('drawbridge dev: kill -9 either connector under load, and no GET fails', async () => {
    const load = startLoad({ agent: stack.agent, baseUrl: base, rate: 150, mix: { get: 1, download: 0, post: 0 } });
    try {
      await sleep(1500);
      const detections: number[] = [];
      for (const c of conns) {
        const t0 = performance.now();
        process.kill(c.pid, 'SIGKILL');
        await waitUntil(async () => (await stateOf(c.id)) === 'disconnected', 10_000, `${c.id} seen as gone`);
        detections.push(Math.round(performance.now() - t0));
        const group = await health();
        assert.equal(group.atRisk, true, 'a group down to one healthy connector is flagged');
        assert.match(group.warnings.join('\n'), /one more failure|no healthy connector/);
        const opened = await openedTo(c.id);
        await sleep(1000);
        assert.equal(await openedTo(c.id), opened, 'no stream is opened to a dead connector');
        await restart(c);
        await sleep(1000);
      }
      await load.stop();
      const s = summarize(load.samples);
      const retried = s.retried.map((x) => x.ms);
      figure('dev-kill9', {
        requests: s.total,
        failed: s.failed.length,
        retried: retried.length,
        detectionMs: detections,
        baselineP50Ms: +s.p50.toFixed(1),
        retriedP50Ms: +percentile(retried, 50).toFixed(1),
        retriedP99Ms: +percentile(retried, 99).toFixed(1),
      });
      assert.deepEqual(failures(s), [], logsOf(stack.dir));
      assert.ok(s.total > 600);
    } finally {
      await load.stop();
    }
  });

  it('a stalled connector (SIGSTOP) is ejected by PING within 2 s, its waiting streams fail over, nothing more is sent to it', async () => {
    const c = conns[0];
    const load = startLoad({ agent: stack.agent, baseUrl: base, rate: 150, mix: { get: 1, download: 0, post: 0 } });
    try {
      await sleep(1000);
      load.pause();
      await waitUntil(async () => (await health()).inFlight === 0, 10_000, 'quiet before the snapshot');
      const m0 = await connectorRequests(c.metricsUrl);
      const e0 = await openedTo(c.id);
      load.resume();
      await sleep(500);
      const t0 = performance.now();
      process.kill(c.pid, 'SIGSTOP');
      await waitUntil(async () => (await stateOf(c.id)) === 'ejected', 4_000, 'ejection');
      const detectionMs = Math.round(performance.now() - t0);
      const atEjection = await openedTo(c.id);
      await sleep(1500);
      assert.equal(await openedTo(c.id), atEjection, 'no stream opened to the stalled connector after its ejection');
      load.pause();
      await waitUntil(
        async () => (await health()).connectors.filter((x) => x.id !== c.id).every((x) => x.inFlight === 0),
        10_000,
        'quiet before SIGCONT',
      );
      process.kill(c.pid, 'SIGCONT');
      await waitUntil(async () => (await stateOf(c.id)) === 'healthy', 5_000, 'restored after SIGCONT');
      const m1 = await connectorRequests(c.metricsUrl);
      const e1 = await openedTo(c.id);
      assert.ok(m1 - m0 <= e1 - e0, `the connector saw ${m1 - m0} requests, the edge sent ${e1 - e0}`);
      load.resume();
      await sleep(1000);
      await load.stop();
      const s = summarize(load.samples);
      const ejected = s.retried.filter((x) => x.retried === 'ejected').map((x) => x.ms);
      figure('sigstop', {
        requests: s.total,
        failed: s.failed.length,
        detectionMs,
        failedOver: ejected.length,
        failedOverP50Ms: Math.round(percentile(ejected, 50)),
        failedOverP99Ms: Math.round(percentile(ejected, 99)),
        baselineP50Ms: +s.p50.toFixed(1),
      });
      assert.ok(detectionMs < 2_000 + 250, `ejected after ${detectionMs} ms`);
      assert.deepEqual(failures(s), []);
    } finally {
      if (alive(c.pid)) process.kill(c.pid, 'SIGCONT');
      await load.stop();
    }
  });

  it('a rolling restart (SIGTERM each connector, start it again) fails no request, POSTs included', async () => {
    const load = startLoad({
      agent: stack.agent,
      baseUrl: base,
      rate: 150,
      mix: { get: 0.7, download: 0.15, post: 0.15 },
    });
    try {
      await sleep(1000);
      for (const c of conns) {
        const pid = c.pid;
        process.kill(pid, 'SIGTERM');
        await waitUntil(
          async () => ['draining', 'disconnected'].includes(await stateOf(c.id)),
          10_000,
          'the draining event seen by the edge',
        );
        // The connector's own metrics: once the edge has read its draining event it receives no new request.
        await sleep(100);
        const a = await connectorRequests(c.metricsUrl).catch(() => null);
        await sleep(400);
        const b = await connectorRequests(c.metricsUrl).catch(() => null);
        if (a !== null && b !== null) assert.equal(b, a, 'no request reached the draining connector');
        await waitUntil(() => !alive(pid), 15_000, 'the drained connector exits');
        if (c.child) c.child = null;
        await restart(c);
        await sleep(500);
      }
      await load.stop();
      const s = summarize(load.samples);
      figure('rolling-restart', {
        requests: s.total,
        failed: s.failed.length,
        retried: s.retried.length,
        p50Ms: +s.p50.toFixed(1),
        p99Ms: +s.p99.toFixed(1),
      });
      assert.deepEqual(failures(s), [], logsOf(stack.dir));
      const audit = await stack.admin<{ items: { action: string; target: string }[] }>(
        'GET',
        `/tenants/${tenantId}/audit-log?limit=500`,
      );
      const actions = new Set(audit.body.items.map((e) => e.action));
      for (const a of [
        'connector.connected',
        'connector.lost',
        'connector.drained',
        'tunnel.draining',
        'tunnel.ejected',
      ])
        assert.ok(actions.has(a), `audit log has ${a}: ${[...actions].join(', ')}`);
    } finally {
      await load.stop();
    }
  });

  /** The connector that has a request in flight right now (the one a test is about to kill). */
  async function busy(): Promise<(typeof conns)[number]> {
    let found: (typeof conns)[number] | undefined;
    await waitUntil(
      async () => {
        const id = (await health()).connectors.find((x) => x.inFlight > 0)?.id;
        found = conns.find((x) => x.id === id);
        return found !== undefined;
      },
      5_000,
      'a connector with the request in flight',
    );
    return found!;
  }

  it('a GET in flight on a killed connector is retried; a POST that had sent its body gets DB-TUNNEL-STREAM-FAILED', async () => {
    const slow = request(`${base}/slow/1`, { dispatcher: stack.agent });
    const c1 = await busy();
    process.kill(c1.pid, 'SIGKILL');
    const res = await slow;
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-drawbridge-retried'], 'lost');
    assert.match(await res.body.text(), /GET answered after 1 s/);
    await restart(c1);

    let release: (() => void) | undefined;
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(1024, 1));
    const post = request(`${base}/echo`, {
      dispatcher: stack.agent,
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    const c2 = await busy();
    process.kill(c2.pid, 'SIGKILL');
    const failed = await post;
    release?.();
    assert.equal(failed.statusCode, 502);
    assert.equal(failed.headers['x-drawbridge-error'], 'DB-TUNNEL-STREAM-FAILED');
    assert.match(await failed.body.text(), /interrupted/);
    body.destroy();
    await restart(c2);
  });

  it('a WebSocket whose connector dies before the handshake is answered fails over like a GET', async () => {
    const wsUrl = `${base.replace('https:', 'wss:')}/ws/slow/1`;
    const ca = await readFile(stack.dev.caCertPath, 'utf8');
    const ws = new WebSocket(wsUrl, { ca, lookup: loopbackLookup } as never);
    const opened = new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`HTTP ${res.statusCode} ${res.headers['x-drawbridge-error']}`)),
      );
    });
    const killed = await busy();
    process.kill(killed.pid, 'SIGKILL');
    await opened;
    const echoed = new Promise<string>((resolve) => ws.once('message', (data) => resolve(String(data))));
    ws.send('still here');
    assert.equal(await echoed, 'still here');
    ws.close();
    await restart(killed);
  });

  it("a download cut by its connector's death is finished from the other connector: the client gets every byte once", async () => {
    const size = 64 * 1024 * 1024;
    const res = await request(`${base}/bytes/${size}`, { dispatcher: stack.agent });
    assert.equal(res.statusCode, 200);
    const pattern = Buffer.alloc(64 * 1024, 'drawbridge ');
    const expected = createHash('sha256');
    for (let left = size; left > 0; left -= pattern.length)
      expected.update(left >= pattern.length ? pattern : pattern.subarray(0, left));
    const got = createHash('sha256');
    let received = 0;
    let killed: (typeof conns)[number] | undefined;
    for await (const chunk of res.body) {
      got.update(chunk as Buffer);
      received += (chunk as Buffer).length;
      if (!killed && received >= 8 * 1024 * 1024) {
        // Reading pauses here, so the rest is still on its way through the connector when it dies.
        killed = await busy();
        process.kill(killed.pid, 'SIGKILL');
      }
    }
    assert.ok(killed, 'a connector was killed mid-download');
    assert.equal(received, size, 'every byte arrived, none twice');
    assert.equal(got.digest('hex'), expected.digest('hex'));
    assert.match(await readFile(path.join(stack.dir, 'logs', 'edge.log'), 'utf8'), /"msg":"download resumed"/);
    await restart(killed);
  });

  it('retries PUT and DELETE only for an app that opts in (retryWrites)', async () => {
    const appId = (
      await stack.admin<{ items: { id: string; name: string }[] }>('GET', `/tenants/${tenantId}/apps`)
    ).body.items.find((a) => a.name === 'sample')!.id;
    const deleteWhileKilling = async () => {
      const pending = request(`${base}/slow/1`, { dispatcher: stack.agent, method: 'DELETE' });
      const victim = await busy();
      process.kill(victim.pid, 'SIGKILL');
      const res = await pending;
      await restart(victim);
      return res;
    };
    // Default: DELETE is not replayed (the backend may have acted on it).
    const refused = await deleteWhileKilling();
    assert.equal(refused.statusCode, 502);
    assert.equal(refused.headers['x-drawbridge-error'], 'DB-TUNNEL-STREAM-FAILED');
    await refused.body.dump();
    // Opted in: replayed on the other connector, transparently.
    assert.equal((await stack.admin('PATCH', `/tenants/${tenantId}/apps/${appId}`, { retryWrites: true })).status, 200);
    await sleep(300);
    const retried = await deleteWhileKilling();
    assert.equal(retried.statusCode, 200);
    assert.equal(retried.headers['x-drawbridge-retried'], 'lost');
    assert.match(await retried.body.text(), /DELETE answered after 1 s/);
    assert.equal(
      (await stack.admin('PATCH', `/tenants/${tenantId}/apps/${appId}`, { retryWrites: false })).status,
      200,
    );
  });

  it('moves a connector, then an app, to another group under load without restarting anything', async () => {
    const g2 = (await stack.admin<{ id: string }>('POST', `/tenants/${tenantId}/connector-groups`, { name: 'branch' }))
      .body.id;
    const [stay, move] = conns;
    const appId = (
      await stack.admin<{ items: { id: string; name: string }[] }>('GET', `/tenants/${tenantId}/apps`)
    ).body.items.find((a) => a.name === 'sample')!.id;
    const load = startLoad({ agent: stack.agent, baseUrl: base, rate: 150, mix: { get: 0.9, download: 0.1, post: 0 } });
    try {
      await sleep(500);
      assert.equal(
        (await stack.admin('PATCH', `/tenants/${tenantId}/connectors/${move.id}`, { groupId: g2 })).status,
        200,
      );
      await waitUntil(
        async () => (await health(g2)).connectors.some((c) => c.id === move.id && c.state === 'healthy'),
        10_000,
        'connector in the new group',
      );
      await sleep(500);
      const before = await connectorRequests(move.metricsUrl);
      await sleep(500);
      assert.equal(
        await connectorRequests(move.metricsUrl),
        before,
        "the moved connector no longer serves the old group's app",
      );
      assert.equal((await stack.admin('PATCH', `/tenants/${tenantId}/apps/${appId}`, { groupId: g2 })).status, 200);
      await sleep(1000);
      const a = await connectorRequests(stay.metricsUrl);
      const b = await connectorRequests(move.metricsUrl);
      await sleep(700);
      assert.equal(await connectorRequests(stay.metricsUrl), a, 'the old group no longer serves the moved app');
      assert.ok((await connectorRequests(move.metricsUrl)) > b, 'the new group serves it');
      // And back, so both connectors serve it again.
      assert.equal((await stack.admin('PATCH', `/tenants/${tenantId}/apps/${appId}`, { groupId })).status, 200);
      assert.equal((await stack.admin('PATCH', `/tenants/${tenantId}/connectors/${move.id}`, { groupId })).status, 200);
      await sleep(1000);
      await load.stop();
      const s = summarize(load.samples);
      figure('moves', { requests: s.total, failed: s.failed.length, p99Ms: +s.p99.toFixed(1) });
      assert.deepEqual(failures(s), [], logsOf(stack.dir));
      assert.equal((await health()).healthyConnectors, 2);
    } finally {
      await load.stop();
    }
  });
});
