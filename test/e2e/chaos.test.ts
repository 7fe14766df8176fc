import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { register } from '../../src/connector/enroll/register.ts';
import { stopChild } from '../../src/cli/child.ts';
import { startDevStack, url, logsOf, type DevStack } from '../helpers/dev-stack.ts';
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
 * The bounded chaos test: steady fixed-rate load (small GETs, streaming downloads, POSTs, WebSockets) over a group
 * of three connectors; one is killed with SIGKILL, another drained with SIGTERM and started again. Real processes.
 */
describe('chaos: three connectors, kill -9 one, restart another, under steady load', { timeout: 120_000 }, () => {
  let stack: DevStack;
  let work: string;
  let tenantId: string;
  let groupId: string;
  const extra: ChildProcess[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const t0 = performance.now();
  const step = (msg: string) =>
    process.stdout.write(`chaos +${((performance.now() - t0) / 1000).toFixed(1)} s: ${msg}\n`);

  before(async () => {
    stack = await startDevStack();
    work = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-chaos-'));
    tenantId = (await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants')).body.items.find(
      (t) => t.name === 'contoso',
    )!.id;
    groupId = (
      await stack.admin<{ items: { id: string; name: string }[] }>('GET', `/tenants/${tenantId}/connector-groups`)
    ).body.items.find((g) => g.name === 'default')!.id;
  });
  after(async () => {
    for (const c of extra) await stopChild(c, 5000);
    await stack?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const health = async (): Promise<GroupHealthBody> =>
    (await stack.admin<GroupHealthBody>('GET', `/tenants/${tenantId}/connector-groups/${groupId}/health`)).body;
  const stateOf = async (id: string): Promise<string> =>
    (await health()).connectors.find((c) => c.id === id)?.state ?? 'absent';
  const openedTo = async (id: string): Promise<number> =>
    (await health()).connectors.find((c) => c.id === id)?.streamsOpened ?? 0;

  it('fails no idempotent request, closes WebSockets cleanly, sends nothing to the dead connector', async () => {
    // A third connector, enrolled and started as an operator would.
    const token = (await stack.admin<{ token: string }>('POST', `/tenants/${tenantId}/enrollment-tokens`, { groupId }))
      .body.token;
    const dir3 = path.join(work, 'connector-3');
    await register({
      edgeUrl: `https://tunnel.apps.localhost:${stack.publicPort}`,
      token,
      stateDir: dir3,
      caFile: stack.dev.caCertPath,
      version: 'test',
      connectAddress: `127.0.0.1:${stack.publicPort}`,
      name: 'chaos-3',
    });
    step('stack up, enrolling a third connector');
    const third = await runConnector(dir3, path.join(work, 'connector-3.log'));
    extra.push(third.process);
    await waitUntil(async () => (await health()).healthyConnectors === 3, 10_000, 'three healthy connectors');

    const [victim, drained] = stack.dev.connectors;
    const load = startLoad({
      agent: stack.agent,
      baseUrl: url(stack, 'sample', ''),
      rate: 300,
      websockets: 12,
      mix: { get: 0.8, download: 0.12, post: 0.08 },
      downloadBytes: 256 * 1024,
      ca: await readFile(stack.dev.caCertPath, 'utf8'),
    });
    let detectionMs = 0;
    let killedAt = 0;
    try {
      step('load running');
      await sleep(4000);

      // 1. kill -9 one connector.
      killedAt = performance.now();
      process.kill(victim.pid, 'SIGKILL');
      await waitUntil(
        async () => (await stateOf(victim.id)) === 'disconnected',
        10_000,
        'the killed connector seen as gone',
      );
      detectionMs = Math.round(performance.now() - killedAt);
      step(`killed connector gone after ${detectionMs} ms`);
      const openedAtDetection = await openedTo(victim.id);
      await sleep(4000);
      assert.equal(
        await openedTo(victim.id),
        openedAtDetection,
        'no stream opened to the dead connector after it was detected',
      );

      // 2. SIGTERM another (drain), check with its own metrics that it takes nothing new, then start it again.
      step('SIGTERM to the second connector');
      process.kill(drained.pid, 'SIGTERM');
      await waitUntil(
        async () => ['draining', 'disconnected'].includes(await stateOf(drained.id)),
        10_000,
        'the draining event seen by the edge',
      );
      await sleep(100);
      const a = await connectorRequests(drained.metricsUrl).catch(() => null);
      await sleep(500);
      const b = await connectorRequests(drained.metricsUrl).catch(() => null);
      if (a !== null && b !== null) assert.equal(b, a, 'the draining connector received no new request');
      await waitUntil(() => !alive(drained.pid), 20_000, 'the drained connector exits');
      step('drained connector exited; starting it again');
      const again = await runConnector(path.join(stack.dir, 'connector-2'), path.join(work, 'connector-2-again.log'));
      extra.push(again.process);
      await waitUntil(async () => (await stateOf(drained.id)) === 'healthy', 10_000, 'the restarted connector healthy');
      await sleep(5000);
    } finally {
      step('stopping the load');
      await load.stop();
      step('load stopped');
    }

    const s = summarize(load.samples);
    const retried = s.retried.map((x) => x.ms);
    const byKind = (k: string) => s.failed.filter((f) => f.kind === k).length;
    const ws = load.sockets;
    const wsOnKill = ws.filter((w) => w.closedAt !== null && w.closedAt >= killedAt && w.closedAt < killedAt + 3000);
    const report = {
      requests: s.total,
      seconds: Math.round(
        (Math.max(...load.samples.map((x) => x.startedAt)) - Math.min(...load.samples.map((x) => x.startedAt))) / 1000,
      ),
      failed: s.failed.length,
      failedIdempotent: s.failedIdempotent.length,
      failedGet: byKind('get'),
      failedDownload: byKind('download'),
      failedPost: byKind('post'),
      downloadsCutMidBody: s.failed.filter((f) => f.kind === 'download' && f.midBody).length,
      retried: retried.length,
      baselineP50Ms: +s.p50.toFixed(1),
      baselineP99Ms: +s.p99.toFixed(1),
      retriedP50Ms: +percentile(retried, 50).toFixed(1),
      retriedP99Ms: +percentile(retried, 99).toFixed(1),
      killDetectionMs: detectionMs,
      websockets: ws.length,
      wsClosedAtKill: wsOnKill.map((w) => w.closeCode),
      wsErrored: ws.filter((w) => w.errored).length,
    };
    process.stdout.write(`ha-figure chaos ${JSON.stringify(report)}\n`);

    // Requests cut while their response body was already streaming cannot be replayed transparently (the client has
    // the headers and part of the body); every other idempotent request must succeed.
    const unacceptable = s.failedIdempotent.filter((f) => !f.midBody);
    assert.deepEqual(
      unacceptable.map((f) => `${f.kind} ${f.error} after ${Math.round(f.ms)} ms`),
      [],
      logsOf(stack.dir),
    );
    // The generator must have produced real load (it falls behind a little on a slow, shared CI machine).
    assert.ok(s.total > 300 * 10, `steady load ran (${s.total} requests)`);
    // WebSockets on the killed connector got a close frame from the edge (1011), never an abrupt reset.
    assert.ok(wsOnKill.length > 0, 'some WebSockets were on the killed connector');
    for (const w of wsOnKill)
      assert.ok(w.closeCode === 1011 || w.closeCode === 1001, `clean close code, got ${w.closeCode}`);
    assert.equal(ws.filter((w) => w.errored).length, 0, 'no WebSocket ended in an error');
    assert.equal((await health()).healthyConnectors, 2);
  });
});
