import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { buildConnector } from '../../scripts/build-connector.ts';
import { startDevStack, type DevStack } from '../helpers/dev-stack.ts';
import { exited, waitUntil } from '../helpers/load.ts';

/**
 * The connector as one file (issue 15): `npm run build:connector` makes a Node single executable application; run
 * from a directory with no checkout and no Node on PATH, it registers with an enrollment token, keeps its tunnels and
 * serves an app published on its own connector group.
 */
describe('connector as one file: a single executable registers and serves', { timeout: 180_000 }, () => {
  let stack: DevStack;
  let work: string;
  let binary: string;
  let backend: http.Server;
  let connector: ChildProcess | null = null;
  let output = '';
  let stateDir = '';
  let externalUrl = '';

  before(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-single-file-'));
    binary = await buildConnector(path.join(work, 'bin', 'drawbridge-connector'));
    stack = await startDevStack(['--connectors', '1']);
    backend = http.createServer((req, res) => {
      req.resume();
      res.end(`single-file ${req.method} ${req.url}\n`);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    if (connector && connector.exitCode === null) {
      const done = exited(connector);
      connector.kill('SIGTERM');
      await done;
    }
    backend?.close();
    await stack?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  // A host without Node.js: an empty PATH, and a working directory outside the checkout.
  const env = { PATH: '/nonexistent', HOME: os.tmpdir() };

  it('prints its version without Node.js or the checkout', () => {
    const r = spawnSync(binary, ['--version'], { cwd: os.tmpdir(), env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
    const help = spawnSync(binary, ['connector', '--help'], { cwd: os.tmpdir(), env, encoding: 'utf8' });
    assert.match(help.stdout, /drawbridge connector register --edge URL --token TOKEN/);
  });

  it('registers with a one-time token, runs, and serves an app of its group', async () => {
    const group = await stack.admin<{ id: string }>('POST', '/tenants/contoso/connector-groups', {
      name: 'single-file',
    });
    assert.equal(group.status, 201, JSON.stringify(group.body));
    const app = await stack.admin<{ externalUrl: string }>('POST', '/tenants/contoso/apps', {
      name: 'single-file',
      groupId: group.body.id,
      internalUrl: `http://127.0.0.1:${(backend.address() as net.AddressInfo).port}`,
      preAuth: 'passthrough',
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    const token = await stack.admin<{ token: string }>('POST', '/tenants/contoso/enrollment-tokens', {
      groupId: group.body.id,
      ttlSeconds: 600,
    });
    assert.equal(token.status, 201, JSON.stringify(token.body));

    stateDir = path.join(work, 'state');
    externalUrl = app.body.externalUrl;
    const edge = new URL(stack.dev.edgeUrl);
    const registered = spawnSync(
      binary,
      [
        'connector',
        'register',
        '--edge',
        `https://tunnel.${edge.hostname}:${stack.publicPort}`,
        '--token',
        token.body.token,
        '--state-dir',
        stateDir,
        '--ca-file',
        stack.dev.caCertPath,
        '--connect-address',
        `127.0.0.1:${stack.publicPort}`,
        '--name',
        'single-file',
      ],
      { cwd: os.tmpdir(), env, encoding: 'utf8' },
    );
    assert.equal(registered.status, 0, `${registered.stdout}\n${registered.stderr}`);

    connector = spawn(binary, ['connector', 'run', '--state-dir', stateDir, '--tunnels', '1'], {
      cwd: os.tmpdir(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    connector.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    connector.stderr?.on('data', (d: Buffer) => (output += d.toString()));

    let last = '';
    await waitUntil(
      async () => {
        const res = await request(`${app.body.externalUrl}/hello`, { dispatcher: stack.agent }).catch(() => null);
        if (!res) return false;
        last = `${res.statusCode} ${await res.body.text()}`;
        return res.statusCode === 200;
      },
      30_000,
      'the app answering through the single-file connector',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}\n${output}`);
    });
    assert.equal(last, '200 single-file GET /hello\n');
    const list = await stack.admin<{ items: { name: string; live: { version: string } | null }[] }>(
      'GET',
      '/tenants/contoso/connectors',
    );
    const mine = list.body.items.find((c) => c.name === 'single-file');
    assert.ok(mine?.live, JSON.stringify(list.body));

    // `connector install` run from the single file writes a unit that starts the single file itself.
    const installed = spawnSync(
      binary,
      ['connector', 'install', '--state-dir', stateDir, '--unit-dir', work, '--unit', 'db-single-file'],
      { cwd: os.tmpdir(), env, encoding: 'utf8' },
    );
    assert.equal(installed.status, 0, installed.stderr);
    const unit = await readFile(path.join(work, 'db-single-file.service'), 'utf8');
    assert.match(unit, new RegExp(`^ExecStart=${binary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} connector run `, 'm'));
  });

  it('runs as several processes: cluster workers forked from the single executable serve too', async () => {
    assert.ok(connector, 'the previous test started the connector');
    const first = connector;
    const done = exited(first);
    first.kill('SIGTERM');
    await done;
    assert.equal(first.exitCode, 0);
    output = '';
    connector = spawn(binary, ['connector', 'run', '--state-dir', stateDir, '--tunnels', '1', '--workers', '2'], {
      cwd: os.tmpdir(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    connector.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    connector.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const live = async () =>
      (
        await stack.admin<{ items: { name: string; live: { tunnels: number; workers: number } }[] }>(
          'GET',
          '/tenants/contoso/connectors',
        )
      ).body.items.find((c) => c.name === 'single-file')?.live;
    await waitUntil(
      async () => (await live())?.workers === 2 && (await live())?.tunnels === 2,
      30_000,
      'two workers of the single executable with a tunnel each',
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${output}`);
    });
    const res = await request(`${externalUrl}/workers`, { dispatcher: stack.agent });
    assert.equal(`${res.statusCode} ${await res.body.text()}`, '200 single-file GET /workers\n');
    // SIGTERM: every worker drains and the primary exits 0.
    const stopped = exited(connector);
    connector.kill('SIGTERM');
    await stopped;
    assert.equal(connector.exitCode, 0, output);
    assert.equal(output.match(/"msg":"drained"/g)?.length, 2, output);
  });
});
