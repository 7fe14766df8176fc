import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { request } from 'undici';
import { normalizeSerial } from '../../src/pki/serial.ts';
import { startDevStack, type DevStack } from '../helpers/dev-stack.ts';
import { startLoad, summarize, waitUntil } from '../helpers/load.ts';
import { alive } from '../helpers/alive.ts';

/**
 * `drawbridge connector run --workers 2` behind a real edge, started the way the bench does (`drawbridge dev
 * --connectors 1 --connector-workers 2`). A backend of the test's own names the process at the other end of each
 * connection it accepts (from /proc: the connecting socket's inode, found among each worker's descriptors), so
 * "requests reach the backend through both workers" is shown by pid. Then a worker is killed with SIGKILL under
 * steady load (nothing fails; the primary forks it again) and SIGTERM drains every worker before the primary exits 0.
 */

type Workers = { index: number; pid: number }[];

/**
 * The pid among `pids` that holds the loopback TCP socket from local port `from` to port `to` (Linux /proc: the
 * socket's inode, found among each process's descriptors). Both ports, since an ephemeral port may be reused
 * towards another destination.
 */
function pidOfConnection(from: number, to: number, pids: number[]): number | null {
  const hex = (port: number) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const fields = readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[1]?.endsWith(hex(from)) && f[2]?.endsWith(hex(to)));
  const inode = fields?.[9];
  if (!inode) return null;
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`))
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`) return pid;
    } catch {
      /* the process is gone */
    }
  }
  return null;
}

describe('connector workers: one connector, several processes', { timeout: 180_000 }, () => {
  let stack: DevStack;
  let backend: http.Server;
  let externalUrl: string;
  let primaryPid: number;
  /** Requests the backend answered, by the pid of the connector process they came through. */
  const byPid = new Map<number, number>();
  /** The primary's children now: its workers, including one forked again (Linux /proc). */
  const workerPids = (): number[] =>
    readFileSync(`/proc/${primaryPid}/task/${primaryPid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);

  const devWorkers = async (): Promise<Workers> =>
    (JSON.parse(await readFile(path.join(stack.dir, 'dev.json'), 'utf8')) as { connectors: { workers: Workers }[] })
      .connectors[0].workers;
  const metrics = async (): Promise<string> => (await request(stack.dev.connectors[0].metricsUrl)).body.text();
  const live = async (): Promise<{ tunnels: number; workers: number }> => {
    const res = await stack.admin<{ live: { tunnels: number; workers: number } }>(
      'GET',
      `/tenants/contoso/connectors/${stack.dev.connectors[0].id}`,
    );
    return res.body.live;
  };

  before(async () => {
    stack = await startDevStack(['--connectors', '1', '--connector-workers', '2']);
    primaryPid = stack.dev.connectors[0].pid;
    backend = http.createServer((req, res) => {
      req.resume();
      const pid = (req.socket as net.Socket & { connectorPid?: number | null }).connectorPid ?? 0;
      byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
      const delay = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
      setTimeout(() => res.end(`pid ${pid}\n`), delay);
    });
    backend.on('connection', (socket: net.Socket & { connectorPid?: number | null }) => {
      socket.connectorPid = pidOfConnection(socket.remotePort!, socket.localPort!, workerPids());
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const app = await stack.admin<{ externalUrl: string }>('POST', '/tenants/contoso/apps', {
      name: 'pids',
      groupId: 'default',
      internalUrl: `http://127.0.0.1:${(backend.address() as net.AddressInfo).port}`,
      preAuth: 'passthrough',
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    externalUrl = app.body.externalUrl;
    // Both workers acknowledged the new app (the edge routes only to tunnels that did).
    await waitUntil(
      async () => {
        const res = await request(`${externalUrl}/ready`, { dispatcher: stack.agent });
        await res.body.dump();
        return res.statusCode === 200;
      },
      15_000,
      'the app published',
    );
  });
  after(async () => {
    backend?.closeAllConnections();
    backend?.close();
    await stack?.stop();
  });

  const get = async (pathname: string): Promise<string> => {
    const res = await request(`${externalUrl}${pathname}`, { dispatcher: stack.agent });
    const text = await res.body.text();
    assert.equal(res.statusCode, 200, text);
    return text;
  };

  it('dev starts one primary and two workers; the edge holds both workers’ tunnels side by side', async () => {
    const workers = stack.dev.connectors[0].workers;
    assert.deepEqual(
      workers.map((w) => w.index),
      [1, 2],
    );
    assert.equal(new Set([primaryPid, ...workers.map((w) => w.pid)]).size, 3, JSON.stringify(stack.dev.connectors));
    for (const w of workers) assert.ok(alive(w.pid), `worker ${w.index} (pid ${w.pid}) alive`);
    // Two tunnels per worker (the default --tunnels, per worker), none replacing another.
    await waitUntil(async () => (await live()).tunnels === 4, 10_000, 'four tunnels at the edge');
    assert.equal((await live()).workers, 2);
  });

  it("the console's connectors page says the connector's tunnels are held by two worker processes", async () => {
    const consoleUrl = stack.dev.consoleUrl.replace(/\/$/, '');
    const signin = await request(`${consoleUrl}/signin`, { dispatcher: stack.agent });
    const csrf = /name="csrf" value="([^"]+)"/.exec(await signin.body.text())?.[1] ?? '';
    const signed = await request(`${consoleUrl}/signin/token`, {
      dispatcher: stack.agent,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: consoleUrl },
      body: new URLSearchParams({ csrf, token: stack.dev.adminToken }).toString(),
    });
    await signed.body.dump();
    assert.equal(signed.statusCode, 303, 'signed in with the admin token');
    const cookie = String(signed.headers['set-cookie']).split(';')[0];
    const page = await request(`${consoleUrl}/t/${stack.dev.tenant}/connectors`, {
      dispatcher: stack.agent,
      headers: { cookie },
    });
    const html = await page.body.text();
    assert.equal(page.statusCode, 200, html.slice(0, 300));
    assert.match(html, /4 of 4 <span class="muted">over 2 worker processes<\/span>/);
  });

  it('requests reach the backend through both worker processes', async () => {
    byPid.clear();
    // Several at a time, so the edge's least-outstanding-streams picking has loads to compare.
    for (let round = 0; round < 10; round++) await Promise.all(Array.from({ length: 4 }, () => get('/spread')));
    const [w1, w2] = stack.dev.connectors[0].workers;
    assert.ok((byPid.get(w1.pid) ?? 0) > 0 && (byPid.get(w2.pid) ?? 0) > 0, JSON.stringify([...byPid]));
    assert.equal(byPid.get(0), undefined, 'every backend connection came from a worker');
    // The primary's metrics port shows each worker's series under its own label.
    const text = await metrics();
    for (const index of [1, 2])
      assert.match(
        text,
        new RegExp(`^drawbridge_connector_requests_total\\{[^}]*worker="${index}"[^}]*\\} [1-9]`, 'm'),
      );
    assert.match(text, /^drawbridge_connector_workers 2$/m);
  });

  it('kill -9 of one worker under steady load fails nothing, and the primary forks it again', async () => {
    const victim = stack.dev.connectors[0].workers[1];
    const load = startLoad({
      agent: stack.agent,
      baseUrl: externalUrl,
      rate: 40,
      mix: { get: 1, download: 0, post: 0 },
    });
    await waitUntil(() => load.samples.length >= 40, 10_000, 'load running');
    process.kill(victim.pid, 'SIGKILL');
    const killedAt = load.samples.length;
    await waitUntil(() => load.samples.length >= killedAt + 120, 30_000, 'load after the kill');
    await load.stop();
    const summary = summarize(load.samples);
    assert.equal(
      summary.failed.length,
      0,
      `failed: ${JSON.stringify(summary.failed.slice(0, 5))} (${summary.total} requests, ${summary.retried.length} retried)`,
    );
    process.stdout.write(
      `workers-figure kill9 ${JSON.stringify({ requests: summary.total, failed: 0, retried: summary.retried.length })}\n`,
    );

    // Forked again under the same index: dev.json follows the primary's report, and the edge sees two processes.
    let again = 0;
    await waitUntil(
      async () => {
        const w2 = (await devWorkers()).find((w) => w.index === 2);
        again = w2 && w2.pid !== victim.pid && alive(w2.pid) ? w2.pid : 0;
        return again !== 0;
      },
      30_000,
      'worker 2 forked again',
    );
    assert.ok(alive(primaryPid), 'the primary carried on');
    await waitUntil(async () => (await live()).workers === 2 && (await live()).tunnels === 4, 15_000, 'its tunnels');
    assert.match(await metrics(), /^drawbridge_connector_worker_restarts_total 1$/m);
    // The new worker serves too.
    byPid.clear();
    await waitUntil(
      async () => {
        await Promise.all(Array.from({ length: 4 }, () => get('/after')));
        return (byPid.get(again) ?? 0) > 0;
      },
      15_000,
      'requests through the new worker',
    );
  });

  it('a renewal is made once for the machine; every worker moves onto it, and a worker forked later loads it', async () => {
    type Health = {
      connectors: { id: string; workers: number; tunnels: { state: string; certSerial: string; pid: number }[] }[];
    };
    const id = stack.dev.connectors[0].id;
    const dir = path.join(stack.dir, 'connector-1');
    const keyBefore = await readFile(path.join(dir, 'connector.key'), 'utf8');
    const res = await stack.admin<{ serial: string }>('POST', `/tenants/contoso/connectors/${id}/renew-certificate`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const serial = res.body.serial;
    const tunnels = async () =>
      (await stack.admin<Health>('GET', '/tenants/contoso/connector-groups/default/health')).body.connectors.find(
        (c) => c.id === id,
      )!;
    const allOnNew = async (): Promise<boolean> => {
      const c = await tunnels();
      return (
        c.workers === 2 &&
        c.tunnels.length === 4 &&
        c.tunnels.every((t) => t.state === 'healthy' && t.certSerial === serial)
      );
    };
    await waitUntil(allOnNew, 30_000, "both workers' tunnels on the renewed certificate");
    const row = await stack.admin<{ certSerial: string; previousCertSerial: string | null }>(
      'GET',
      `/tenants/contoso/connectors/${id}`,
    );
    assert.equal(row.body.certSerial, serial);
    await waitUntil(
      async () =>
        (await stack.admin<{ previousCertSerial: string | null }>('GET', `/tenants/contoso/connectors/${id}`)).body
          .previousCertSerial === null,
      10_000,
      'the old serial retired',
    );
    // One new key, written once (by the primary), nothing left pending.
    const onDisk = new X509Certificate(await readFile(path.join(dir, 'connector.crt'), 'utf8'));
    assert.equal(normalizeSerial(onDisk.serialNumber), serial);
    assert.notEqual(await readFile(path.join(dir, 'connector.key'), 'utf8'), keyBefore);
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.next')),
      [],
    );
    const log = await readFile(path.join(stack.dir, 'logs', 'connector-1.log'), 'utf8');
    assert.equal(log.match(/"msg":"certificate renewed: every worker moves onto it"/g)?.length, 1);
    // A worker forked after the renewal dials with the files the primary wrote.
    const [w1] = await devWorkers();
    process.kill(w1.pid, 'SIGKILL');
    await waitUntil(
      async () => {
        const now = (await devWorkers()).find((w) => w.index === 1);
        return now !== undefined && now.pid !== w1.pid && alive(now.pid);
      },
      30_000,
      'worker 1 forked again',
    );
    await waitUntil(allOnNew, 30_000, "the new worker's tunnels on the renewed certificate");
  });

  it('SIGTERM drains every worker (requests in flight on each finish) and the primary exits 0', async () => {
    const workers = await devWorkers();
    byPid.clear();
    // One slow request on each worker (the second goes to the least busy tunnel: the other worker's).
    const slow = Array.from({ length: 4 }, () => get('/slow?delay=1500'));
    await waitUntil(() => [...byPid.values()].reduce((a, b) => a + b, 0) === 4, 10_000, 'slow requests at the backend');
    assert.equal(
      new Set(byPid.keys()).size,
      2,
      `slow requests spread over both workers: ${JSON.stringify([...byPid])}`,
    );
    process.kill(primaryPid, 'SIGTERM');
    const answers = await Promise.all(slow);
    for (const a of answers) assert.match(a, /^pid \d+\n$/);
    await waitUntil(() => !alive(primaryPid) && workers.every((w) => !alive(w.pid)), 20_000, 'all processes gone');
    await waitUntil(
      () => stack.output().includes(`connector 1 (pid ${primaryPid}) exited with code 0`),
      5_000,
      'dev reporting the exit',
    );
    const log = await readFile(path.join(stack.dir, 'logs', 'connector-1.log'), 'utf8');
    for (const w of workers)
      assert.match(log, new RegExp(`"pid":${w.pid},[^\\n]*"msg":"drained"`), `worker ${w.index} drained`);
  });
});
