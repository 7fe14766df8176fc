import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import tls from 'node:tls';
import net from 'node:net';
import { request } from 'undici';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { startDevStack, url, logsOf, type DevStack } from '../helpers/dev-stack.ts';
import { startLoad, summarize, waitUntil } from '../helpers/load.ts';
import { createDevCertificates } from '../../src/pki/dev-certs.ts';
import { Client, signIn } from './identity-harness.ts';

/**
 * Operations against `drawbridge dev --tracing`: the edge's Prometheus metrics at <adminUrl>/metrics, a W3C trace
 * from the client through the edge and a connector to the backend, and a configuration reload on SIGHUP under load.
 */
describe('operations: metrics, traces, reload', { timeout: 150_000 }, () => {
  let stack: DevStack;
  let sampleAppId: string;

  before(async () => {
    stack = await startDevStack(['--tracing']);
    const tenants = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants');
    const tenantId = tenants.body.items.find((t) => t.name === 'contoso')!.id;
    const apps = await stack.admin<{ items: { id: string; name: string }[] }>('GET', `/tenants/${tenantId}/apps`);
    sampleAppId = apps.body.items.find((a) => a.name === 'sample')!.id;
  });
  after(async () => {
    await stack?.stop();
  });

  const get = async (target: string, headers: Record<string, string> = {}) => {
    const res = await request(target, { dispatcher: stack.agent, headers });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  };
  const metrics = async (): Promise<string> => {
    const res = await request(`${stack.dev.adminUrl}/metrics`); // no bearer token: Prometheus scrapes it as is
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    return res.body.text();
  };
  const sample = (text: string, name: string, labels: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  const logLines = async (file: string): Promise<Record<string, unknown>[]> => {
    const full = path.join(stack.dir, 'logs', file);
    if (!existsSync(full)) return [];
    return (await readFile(full, 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  };

  it("serves the edge's metrics at <adminUrl>/metrics: requests by app, status and code, durations, tunnels, connectors", async () => {
    for (let i = 0; i < 3; i++) assert.equal((await get(url(stack, 'sample', '/echo'))).status, 200);
    const unknown = await get(`https://nothing-here.apps.localhost:${stack.publicPort}/`);
    assert.equal(unknown.status, 404);
    // A sign-in with a wrong password: the sign-in counter by event and result.
    const refused = await signIn(
      new Client(stack.publicPort),
      url(stack, 'hr', '/'),
      stack.dev.users[0].username,
      'not-the-password',
    );
    assert.match(refused.body, /DB-SIGNIN-BAD-CREDENTIALS|password/i);
    // Counted when the response closes: wait for the last one to be in.
    let text = '';
    await waitUntil(
      async () => {
        text = await metrics();
        return (
          sample(text, 'drawbridge_edge_requests_total', `app="${sampleAppId}",status="200",code=""`) >= 3 &&
          sample(text, 'drawbridge_edge_requests_total', 'app="",status="404",code="DB-ROUTE-UNKNOWN-HOST"') >= 1 &&
          sample(text, 'drawbridge_edge_signins_total', 'event="signin",result="failure"') >= 1
        );
      },
      10_000,
      'request counters',
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}:\n${text
          .split('\n')
          .filter((l) => l.startsWith('drawbridge_edge_requests') || l.startsWith('drawbridge_edge_signins'))
          .join('\n')}`,
      );
    });
    assert.ok(sample(text, 'drawbridge_edge_request_duration_seconds_count', `app="${sampleAppId}"`) >= 3, text);
    assert.ok(sample(text, 'drawbridge_edge_tunnels', 'state="healthy"') >= 2, text);
    assert.ok(Number(/^drawbridge_edge_connectors (\d+)$/m.exec(text)?.[1]) >= 2, text);
    for (const family of [
      'drawbridge_edge_signins_total',
      'drawbridge_edge_relay_streams_total',
      'drawbridge_edge_process_cpu_seconds_total',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${family} counter$`, 'm'), family);
    }
    // The rest of the admin API still wants its token.
    const api = await request(`${stack.dev.adminUrl}/api/v1/tenants`);
    assert.equal(api.statusCode, 401);
    await api.body.dump();
  });

  it("carries a client's W3C traceparent through the edge and a connector to the backend, each hop logging its span", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const clientSpan = '00f067aa0ba902b7';
    const res = await get(url(stack, 'sample', '/echo'), { traceparent: `00-${traceId}-${clientSpan}-01` });
    assert.equal(res.status, 200);
    const echoed = (JSON.parse(res.text) as { headers: Record<string, string> }).headers;
    const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(echoed.traceparent ?? '');
    assert.ok(m, `backend's traceparent: ${echoed.traceparent}`);
    assert.equal(m[1], traceId, "the backend sees the client's trace");
    const connectorSpan = m[2];
    assert.notEqual(connectorSpan, clientSpan);
    assert.equal(echoed['x-drawbridge-trace'], undefined, "the edge's marker stops at the connector");

    // The edge's span: child of the client's; the connector's: child of the edge's, and the backend's parent.
    let edgeSpan: Record<string, unknown> | undefined;
    let connSpan: Record<string, unknown> | undefined;
    await waitUntil(
      async () => {
        edgeSpan = (await logLines('edge.log')).find((l) => l.msg === 'span' && l.traceId === traceId);
        connSpan = [...(await logLines('connector-1.log')), ...(await logLines('connector-2.log'))].find(
          (l) => l.msg === 'span' && l.traceId === traceId,
        );
        return edgeSpan !== undefined && connSpan !== undefined;
      },
      10_000,
      `span lines with trace ${traceId}:\n${logsOf(stack.dir)}`,
    );
    assert.equal(edgeSpan!.parentSpanId, clientSpan);
    assert.equal(connSpan!.parentSpanId, edgeSpan!.spanId);
    assert.equal(connSpan!.spanId, connectorSpan);
    assert.equal(edgeSpan!['http.response.status_code'], 200);
    assert.equal(edgeSpan!.correlationId, connSpan!.correlationId);

    // No traceparent (or a malformed one): the edge starts a trace, and the backend still gets a valid header.
    for (const headers of [{}, { traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }] as Record<
      string,
      string
    >[]) {
      const fresh = JSON.parse((await get(url(stack, 'sample', '/echo'), headers)).text) as {
        headers: Record<string, string>;
      };
      const f = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(fresh.headers.traceparent ?? '');
      assert.ok(f && f[1] !== '0'.repeat(32), fresh.headers.traceparent);
    }
  });

  it('reloads its configuration on SIGHUP under load: no request fails, a changed certificate is served, restart-only changes are named', async () => {
    const certsDir = path.join(stack.dir, 'certs');
    const certPath = path.join(certsDir, 'dev-server.crt');
    const served = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const socket = tls.connect(
          {
            host: '127.0.0.1',
            port: stack.publicPort,
            servername: `sample-contoso.apps.localhost`,
            ca: [],
            rejectUnauthorized: false,
          },
          () => {
            resolve(socket.getPeerCertificate().fingerprint256);
            socket.end();
          },
        );
        socket.once('error', reject);
      });
    const before = new X509Certificate(await readFile(certPath)).fingerprint256;
    assert.equal(await served(), before);

    const load = startLoad({
      agent: stack.agent,
      baseUrl: url(stack, 'sample', ''),
      rate: 60,
      mix: { get: 0.85, download: 0.1, post: 0.05 },
    });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      // A new certificate (same dev CA, new key) in the same files, and config changes: log level, a limit, and
      // one that needs a restart.
      await rm(certPath);
      await createDevCertificates(certsDir, 'apps.localhost');
      const after = new X509Certificate(await readFile(certPath)).fingerprint256;
      assert.notEqual(after, before);
      const configFile = path.join(stack.dir, 'edge.yaml');
      const config = parseYaml(await readFile(configFile, 'utf8')) as Record<string, Record<string, unknown>>;
      await writeFile(
        configFile,
        toYaml({
          ...config,
          log: { level: 'debug' },
          limits: { maxRequestsPerClient: 300 },
          tunnel: { pingIntervalMs: 700 },
        }),
      );
      process.kill(stack.dev.edgePid, 'SIGHUP');
      await waitUntil(
        async () => (await logLines('edge.log')).some((l) => l.msg === 'configuration reloaded'),
        15_000,
        `the edge logs its reload:\n${logsOf(stack.dir)}`,
      );
      await waitUntil(async () => (await served()) === after, 5_000, 'the new certificate served');
      await new Promise((r) => setTimeout(r, 1500)); // more load after the reload
      // Something the edge logs at debug only: a connection that is not TLS.
      await new Promise<void>((resolve) => {
        const s = net.connect(stack.publicPort, '127.0.0.1', () => s.end('GET / HTTP/1.1\r\n\r\n'));
        s.once('close', () => resolve());
        s.once('error', () => resolve());
        s.resume();
      });
      await waitUntil(
        async () => (await logLines('edge.log')).some((l) => l.level === 20),
        5_000,
        'debug lines after the log level changed to debug',
      );
    } finally {
      await load.stop();
    }
    const summary = summarize(load.samples);
    assert.ok(summary.total > 60, `load ran (${summary.total})`);
    assert.deepEqual(
      summary.failed.map((f) => `${f.kind} ${f.error}`),
      [],
      'no request failed across the reload',
    );
    const lines = await logLines('edge.log');
    const restart = lines.find((l) => l.msg === 'configuration changes that apply only after a restart');
    assert.deepEqual(restart?.fields, ['tunnel']);
    assert.equal(stack.process.exitCode, null, 'dev still running');
  });

  it('keeps the running configuration when the re-read one is broken', async () => {
    const configFile = path.join(stack.dir, 'edge.yaml');
    const good = await readFile(configFile, 'utf8');
    await writeFile(configFile, good.replace(/certFile: .*/, 'certFile: /nonexistent/cert.pem'));
    try {
      process.kill(stack.dev.edgePid, 'SIGHUP');
      await waitUntil(
        async () =>
          (await logLines('edge.log')).some(
            (l) => l.msg === 'configuration reload failed: the running configuration is kept',
          ),
        15_000,
        'the failed reload logged',
      );
      assert.equal((await get(url(stack, 'sample', '/echo'))).status, 200);
    } finally {
      await writeFile(configFile, good);
    }
  });
});
