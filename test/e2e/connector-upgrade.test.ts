import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { startDevStack, url, logsOf, type DevStack, type DevJson } from '../helpers/dev-stack.ts';
import { startLoad, summarize } from '../helpers/load.ts';
import { adminCli } from '../helpers/admin-cli.ts';

/**
 * `drawbridge admin connectors upgrade`: a rolling restart of a connector group under load, one connector at a time
 * (dev runs its connectors --supervised and starts one again when it exits with code 75, as systemd would).
 */
describe('connectors upgrade: a group restarted one connector at a time', { timeout: 150_000 }, () => {
  let stack: DevStack;
  before(async () => {
    stack = await startDevStack();
  });
  after(async () => {
    await stack?.stop();
  });

  const admin = (argv: string[]) => adminCli(argv, stack.dev.adminUrl, stack.dev.adminToken);

  it('restarts every connector of the group, never two at once, and no request fails', async () => {
    const pidsBefore = stack.dev.connectors.map((c) => c.pid);
    const load = startLoad({
      agent: stack.agent,
      baseUrl: url(stack, 'sample', ''),
      rate: 40,
      mix: { get: 0.9, download: 0.05, post: 0.05 },
    });
    let result: { code: number; out: string; err: string };
    try {
      await new Promise((r) => setTimeout(r, 1000));
      result = await admin(['connectors', 'upgrade', '--tenant', 'contoso', '--group', 'default', '--json']);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await load.stop();
    }
    assert.equal(result.code, 0, `${result.err}\n${logsOf(stack.dir)}`);
    const report = JSON.parse(result.out) as { connectors: { id: string; skipped: boolean }[] };
    assert.deepEqual(
      report.connectors.map((c) => c.skipped),
      [false, false],
    );
    const dev = JSON.parse(await readFile(path.join(stack.dir, 'dev.json'), 'utf8')) as DevJson;
    for (const [i, c] of dev.connectors.entries())
      assert.notEqual(c.pid, pidsBefore[i], `connector ${i + 1} is a new process`);
    const summary = summarize(load.samples);
    assert.deepEqual(
      summary.failed.map((f) => `${f.kind} ${f.error}`),
      [],
      'no request failed during the rolling restart',
    );
    // Each was asked in turn and logged it; the audit log names the restarts.
    const logs = await Promise.all(
      [1, 2].map((i) => readFile(path.join(stack.dir, 'logs', `connector-${i}.log`), 'utf8')),
    );
    for (const log of logs) assert.match(log, /restart requested: draining/);
  });

  it('skips connectors already on --version, and refuses a group without a second connector', async () => {
    const version = (await admin(['connectors', 'list', '--tenant', 'contoso', '--json'])).out;
    const current = (JSON.parse(version) as { items: { live: { version: string } }[] }).items[0].live.version;
    const same = await admin([
      'connectors',
      'upgrade',
      '--tenant',
      'contoso',
      '--group',
      'default',
      '--version',
      current,
      '--json',
    ]);
    assert.equal(same.code, 0, same.err);
    assert.ok((JSON.parse(same.out) as { connectors: { skipped: boolean }[] }).connectors.every((c) => c.skipped));
    const created = await stack.admin<{ id: string }>('POST', `/tenants/contoso/connector-groups`, { name: 'empty' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const lone = await admin(['connectors', 'upgrade', '--tenant', 'contoso', '--group', 'empty']);
    assert.notEqual(lone.code, 0);
    assert.match(lone.err, /0 connected connector/);
  });
});

/**
 * The same rolling restart with each connector run as two processes (`connector run --workers 2`): the edge asks one
 * worker, the primary drains both and exits 75, and dev starts the whole connector again.
 */
describe('connectors upgrade: connectors with two workers each', { timeout: 150_000 }, () => {
  let stack: DevStack;
  before(async () => {
    stack = await startDevStack(['--connector-workers', '2']);
  });
  after(async () => {
    await stack?.stop();
  });

  it('restarts every process of every connector, one connector at a time, and no request fails', async () => {
    const before = stack.dev.connectors.flatMap((c) => [c.pid, ...c.workers.map((w) => w.pid)]);
    assert.equal(new Set(before).size, 6);
    const load = startLoad({
      agent: stack.agent,
      baseUrl: url(stack, 'sample', ''),
      rate: 40,
      mix: { get: 1, download: 0, post: 0 },
    });
    let result: { code: number; out: string; err: string };
    try {
      await new Promise((r) => setTimeout(r, 1000));
      result = await adminCli(
        ['connectors', 'upgrade', '--tenant', 'contoso', '--group', 'default', '--json'],
        stack.dev.adminUrl,
        stack.dev.adminToken,
      );
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await load.stop();
    }
    assert.equal(result.code, 0, `${result.err}\n${logsOf(stack.dir)}`);
    const dev = JSON.parse(await readFile(path.join(stack.dir, 'dev.json'), 'utf8')) as DevJson;
    const after = dev.connectors.flatMap((c) => [c.pid, ...c.workers.map((w) => w.pid)]);
    assert.equal(after.length, 6);
    for (const pid of after) assert.ok(!before.includes(pid), `${pid} is a new process`);
    assert.deepEqual(
      summarize(load.samples).failed.map((f) => `${f.kind} ${f.error}`),
      [],
      'no request failed during the rolling restart',
    );
    for (const i of [1, 2]) {
      const log = await readFile(path.join(stack.dir, 'logs', `connector-${i}.log`), 'utf8');
      assert.match(log, /restart requested: draining every worker/);
    }
  });
});
