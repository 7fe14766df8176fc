import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDevStack, type DevStack } from '../helpers/dev-stack.ts';
import { waitUntil, exited, type GroupHealthBody } from '../helpers/load.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const NODE = process.execPath;

/**
 * `drawbridge connector install` writes a systemd service for a registered state dir; systemd's own checker accepts
 * it (when systemd-analyze is there), and its ExecStart line, run as is, brings that connector back.
 */
describe('connector install: a systemd unit', { timeout: 120_000 }, () => {
  let stack: DevStack;
  let unitDir: string;
  let service: ChildProcess | null = null;

  before(async () => {
    stack = await startDevStack(['--connectors', '1']);
    unitDir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-units-'));
  });
  after(async () => {
    if (service && service.exitCode === null) {
      const done = exited(service);
      service.kill('SIGTERM');
      await done;
    }
    await stack?.stop();
    if (unitDir) await rm(unitDir, { recursive: true, force: true });
  });

  const cli = (args: string[]) => spawnSync(NODE, [MAIN, 'connector', ...args], { encoding: 'utf8' });

  it('refuses a state dir that is not registered', () => {
    const r = cli(['install', '--state-dir', unitDir, '--unit-dir', unitDir]);
    assert.notEqual(r.status, 0, r.stdout);
  });

  it('writes a unit whose ExecStart runs the connector', async () => {
    const stateDir = path.join(stack.dir, 'connector-1');
    const r = cli([
      'install',
      '--state-dir',
      stateDir,
      '--unit-dir',
      unitDir,
      '--unit',
      'db-test-connector',
      '--tunnels',
      '1',
      '--drain-seconds',
      '5',
      '--user',
      'daemon',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /systemctl daemon-reload && systemctl enable --now db-test-connector/);
    const file = path.join(unitDir, 'db-test-connector.service');
    assert.equal((await stat(file)).mode & 0o777, 0o644);
    const unit = await readFile(file, 'utf8');
    const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1];
    assert.equal(exec, `${NODE} ${MAIN} connector run --state-dir ${stateDir} --drain-seconds 5 --tunnels 1`);
    for (const line of [
      'User=daemon',
      'Restart=on-failure',
      'KillSignal=SIGTERM',
      'KillMode=mixed',
      'TimeoutStopSec=15s',
      `ReadWritePaths=${stateDir}`,
      'ProtectSystem=strict',
      'WantedBy=multi-user.target',
    ]) {
      assert.ok(unit.split('\n').includes(line), `${line} in:\n${unit}`);
    }
    if (spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0) {
      const verify = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
      // Only complaints about this unit count (the container's own units may draw warnings of their own).
      const ours = `${verify.stdout}${verify.stderr}`.split('\n').filter((l) => l.includes('db-test-connector'));
      assert.deepEqual(ours, [], `${verify.stdout}${verify.stderr}`);
    }

    // --workers reaches the command line (the default of one process adds nothing).
    const workers = cli([
      'install',
      '--state-dir',
      stateDir,
      '--unit-dir',
      unitDir,
      '--unit',
      'db-workers',
      '--workers',
      '2',
    ]);
    assert.equal(workers.status, 0, workers.stderr);
    const workersUnit = await readFile(path.join(unitDir, 'db-workers.service'), 'utf8');
    assert.match(
      workersUnit,
      /^ExecStart=.* connector run --state-dir \S+ --drain-seconds 30 --tunnels 2 --workers 2$/m,
    );
    assert.equal(cli(['install', '--state-dir', stateDir, '--unit-dir', unitDir, '--workers', '0']).status, 2);

    // The dev connector stops (by a signal, so dev leaves it down); the unit's command line brings it back.
    const tenants = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants');
    const tenantId = tenants.body.items.find((t) => t.name === 'contoso')!.id;
    const groupId = (
      await stack.admin<{ items: { id: string; name: string }[] }>('GET', `/tenants/${tenantId}/connector-groups`)
    ).body.items.find((g) => g.name === 'default')!.id;
    const state = async (): Promise<string> => {
      const health = await stack.admin<GroupHealthBody>(
        'GET',
        `/tenants/${tenantId}/connector-groups/${groupId}/health`,
      );
      return health.body.connectors.find((c) => c.id === stack.dev.connectors[0].id)?.state ?? 'absent';
    };
    process.kill(stack.dev.connectors[0].pid, 'SIGTERM');
    await waitUntil(async () => (await state()) !== 'healthy', 30_000, 'the dev connector gone');
    const [command, ...args] = exec!.split(' ');
    service = spawn(command, args, { stdio: 'ignore' });
    await waitUntil(
      async () => (await state()) === 'healthy',
      30_000,
      "the connector back through the unit's ExecStart",
    );
  });
});
