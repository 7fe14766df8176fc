import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { semiSpaceArg } from '../../src/lib/young-generation.ts';
import { startDevStack, type DevStack } from '../helpers/dev-stack.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** The command line V8 read its flags from, as the kernel has it for the live process. */
async function commandLine(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
}

async function environment(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
}

/** Starts `node main.ts …` as an operator would (no Node flags) and waits for `ready` in its output. */
async function startPlain(args: string[], ready: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 30 s:\n${output}`)), 30_000);
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before it was ready:\n${output}`));
    });
  });
  return child;
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

describe('the young generation of a started edge and connector (lib/young-generation.ts)', () => {
  let stack: DevStack;
  let dir: string;
  const plainEnv = { ...process.env };
  delete plainEnv.NODE_OPTIONS;
  delete plainEnv.DRAWBRIDGE_YOUNG_GENERATION;

  before(async () => {
    stack = await startDevStack(['--connectors', '1']);
    dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-young-'));
  });
  after(async () => {
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('drawbridge dev forks its edge and connectors with the semi-space flag', async () => {
    assert.ok((await commandLine(stack.dev.edgePid)).includes(semiSpaceArg()));
    for (const c of stack.dev.connectors) assert.ok((await commandLine(c.pid)).includes(semiSpaceArg()));
  });

  it('an edge and a connector started without it run with it, in the same process', async () => {
    const config = parseYaml(await readFile(path.join(stack.dir, 'edge.yaml'), 'utf8')) as Record<string, unknown>;
    config.stateDir = path.join(dir, 'edge');
    const file = path.join(dir, 'edge.yaml');
    await writeFile(file, toYaml(config));
    const edge = await startPlain(
      ['edge', '--config', file, '--port', '0', '--admin-port', '0'],
      'edge ready',
      plainEnv,
    );
    const connectorDir = path.join(dir, 'connector');
    await cp(path.join(stack.dir, 'connector-1'), connectorDir, { recursive: true });
    const connector = await startPlain(
      ['connector', 'run', '--state-dir', connectorDir, '--drain-seconds', '1'],
      'connector started',
      plainEnv,
    );
    try {
      for (const child of [edge, connector]) {
        const argv = await commandLine(child.pid!);
        assert.equal(argv[0], process.execPath);
        assert.equal(argv[1], semiSpaceArg(), `pid ${child.pid} runs ${argv.join(' ')}`);
      }
    } finally {
      await stop(connector);
      await stop(edge);
    }
  });

  it("leaves an operator's own setting in NODE_OPTIONS alone", async () => {
    const connectorDir = path.join(dir, 'connector-own');
    await cp(path.join(stack.dir, 'connector-1'), connectorDir, { recursive: true });
    const connector = await startPlain(
      ['connector', 'run', '--state-dir', connectorDir, '--drain-seconds', '1'],
      'connector started',
      { ...plainEnv, NODE_OPTIONS: '--max-semi-space-size=8' },
    );
    try {
      assert.ok(!(await commandLine(connector.pid!)).includes(semiSpaceArg()));
      assert.ok((await environment(connector.pid!)).includes('NODE_OPTIONS=--max-semi-space-size=8'));
    } finally {
      await stop(connector);
    }
  });
});
