// The lab must not outlive the tests: a test process that brings it up (even
// with a second `up`, as lab.test.ts does) leaves no Samba or Apache behind
// once it released its lease, nor when it is killed before its after hook.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { labDir, labUnavailable, readLabInfo, run, type LabInfo } from './lab.ts';
import { alive } from '../helpers/alive.ts';

const LAB_MODULE = new URL('./lab.ts', import.meta.url).href;
const skip =
  labUnavailable() ?? (process.env.KCD_LAB_KEEP === '1' ? 'KCD_LAB_KEEP=1 keeps the lab up on purpose' : undefined);

/** A test process in miniature: start the lab, `up` once more, then release (or get SIGKILLed first). */
function labUser(
  ending: 'release' | 'killed',
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const script = `
    import { startLab, stopLab, runLabScript } from ${JSON.stringify(LAB_MODULE)};
    await startLab();
    await runLabScript(['up']);
    if (${JSON.stringify(ending)} === 'killed') process.kill(process.pid, 'SIGKILL');
    await stopLab();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

/** The lease files: PIDs and "manual". */
async function leases(): Promise<string[]> {
  return readdir(`${labDir()}/leases`).catch(() => [] as string[]);
}

/** Holders that keep the lab up rightly: a hand-made `up` ("manual") or another live test process. */
function liveHolders(names: string[]): string[] {
  return names.filter((name) => name === 'manual' || alive(Number(name)));
}

/** Every process in the daemons' sessions (lab.sh starts each with setsid), as "pid args". */
async function labProcesses(lab: LabInfo): Promise<string[]> {
  const sessions = [lab.pids.samba, lab.pids.apacheApp, lab.pids.apacheNtlm].filter((p) => p > 0).join(',');
  const ps = await run('ps', ['-o', 'pid=,args=', '-s', sessions]);
  return ps.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

async function waitUntilGone(lab: LabInfo, deadlineMs: number): Promise<string[]> {
  const deadline = Date.now() + deadlineMs;
  let left = await labProcesses(lab);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    left = await labProcesses(lab);
  }
  return left;
}

describe('KCD lab teardown', { skip, timeout: 600_000 }, () => {
  for (const ending of ['release', 'killed'] as const) {
    it(
      ending === 'release'
        ? 'a test process that releases its lease leaves no daemon behind'
        : 'a test process killed before its after hook leaves no daemon behind either',
      async (t) => {
        const before = await leases();
        const result = await labUser(ending);
        if (ending === 'release') assert.equal(result.code, 0, result.output);
        else assert.equal(result.signal, 'SIGKILL', result.output);
        // The child leaves no lease of its own (no PID lease, no "manual" one from its second `up`); the watcher
        // releases a killed child's lease within a second or two.
        const deadline = Date.now() + 30_000;
        let after = await leases();
        while (after.some((l) => !before.includes(l)) && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 250));
          after = await leases();
        }
        assert.deepEqual(
          after.filter((l) => !before.includes(l)),
          [],
          `leases the child left:\n${result.output}`,
        );
        const holders = liveHolders(before);
        if (holders.length > 0) {
          t.diagnostic(
            `the lab stays up for the lease(s) it had before: ${holders.join(', ')}; not checking its processes`,
          );
          return;
        }
        const lab = await readLabInfo();
        assert.ok(lab.pids.samba > 0, 'lab.json names the daemons');
        // stopping waits up to 15 s per daemon before SIGKILL
        const left = await waitUntilGone(lab, 60_000);
        assert.deepEqual(left, [], `lab processes still running:\n${left.join('\n')}\n${result.output}`);
      },
    );
  }
});
