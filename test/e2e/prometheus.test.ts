import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { startDevStack, url, type DevStack } from '../helpers/dev-stack.ts';
import { waitUntil, exited } from '../helpers/load.ts';

/** Debian's `prometheus` package (.ci/run installs it). */
const PROMETHEUS = spawnSync('prometheus', ['--version'], { stdio: 'ignore' }).status === 0 ? 'prometheus' : null;

/**
 * A real Prometheus, on loopback with its own config and storage in a temp dir, scrapes `drawbridge dev`'s edge
 * (<adminUrl>/metrics, no token) and its connectors every second; the test reads series back from its HTTP API.
 */
describe('Prometheus scrapes the edge and the connectors', {
  timeout: 120_000,
  skip: PROMETHEUS ? false : 'prometheus is not installed (Debian package "prometheus"; .ci/run installs it)',
}, () => {
  let stack: DevStack;
  let dir: string;
  let prometheus: ChildProcess;
  let promUrl: string;
  let output = '';

  before(async () => {
    stack = await startDevStack();
    dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-prometheus-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const target = (u: string): string => new URL(u).host;
    await writeFile(
      path.join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        `  - { job_name: edge, static_configs: [{ targets: ['${target(stack.dev.adminUrl)}'] }] }`,
        `  - { job_name: connector, static_configs: [{ targets: [${stack.dev.connectors.map((c) => `'${target(c.metricsUrl)}'`).join(', ')}] }] }`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      PROMETHEUS!,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    prometheus.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    await waitUntil(
      async () => {
        if (prometheus.exitCode !== null) throw new Error(`prometheus exited (${prometheus.exitCode}):\n${output}`);
        return (
          (await request(`${promUrl}/-/ready`).then(
            async (r) => {
              await r.body.dump();
              return r.statusCode;
            },
            () => 0,
          )) === 200
        );
      },
      30_000,
      'prometheus ready',
    );
  });
  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const done = exited(prometheus);
      prometheus.kill('SIGTERM');
      await done;
    }
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The instant vector of `query`: one [labels, value] per series. */
  const query = async (q: string): Promise<{ metric: Record<string, string>; value: number }[]> => {
    const res = await request(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.body.json()) as {
      status: string;
      data: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    assert.equal(body.status, 'success', JSON.stringify(body));
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };

  it("reads the edge's request counter and the connectors' back from Prometheus' API", async () => {
    for (let i = 0; i < 5; i++) {
      const res = await request(url(stack, 'sample', '/echo'), { dispatcher: stack.agent });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    }
    let seen = '';
    await waitUntil(
      async () => {
        const up = await query('up');
        seen = JSON.stringify(up);
        return up.length === 1 + stack.dev.connectors.length && up.every((s) => s.value === 1);
      },
      30_000,
      'every target up',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${seen}\n${output}`);
    });
    await waitUntil(
      async () => {
        const edge = await query('sum(drawbridge_edge_requests_total{job="edge",status="200",app!=""})');
        const connectors = await query('sum(drawbridge_connector_requests_total{job="connector",outcome="forwarded"})');
        seen = JSON.stringify({ edge, connectors });
        return (edge[0]?.value ?? 0) >= 5 && (connectors[0]?.value ?? 0) >= 5;
      },
      30_000,
      'request counters in Prometheus',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${seen}`);
    });
    const tunnels = await query('drawbridge_edge_tunnels{state="healthy"}');
    assert.ok((tunnels[0]?.value ?? 0) >= stack.dev.connectors.length, JSON.stringify(tunnels));
    const latency = await query(
      'histogram_quantile(0.5, sum by (le) (drawbridge_edge_request_duration_seconds_bucket{app!=""}))',
    );
    assert.ok(latency.length === 1 && latency[0].value > 0, JSON.stringify(latency));
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
