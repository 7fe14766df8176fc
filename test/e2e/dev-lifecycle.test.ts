import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { startDevStack } from '../helpers/dev-stack.ts';
import { alive } from '../helpers/alive.ts';

/** Pids whose parent is `pid` (from /proc: the field after the parenthesised command name). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

describe('drawbridge dev: lifecycle', { timeout: 90_000 }, () => {
  it('a dev process killed with SIGKILL leaves no edge, connector, sample app or xrdp behind, and frees its ports', async () => {
    const stack = await startDevStack(['--connectors', '1']);
    const dev = stack.process.pid!;
    const children = childrenOf(dev);
    try {
      assert.ok(
        children.includes(stack.dev.edgePid),
        `the edge (${stack.dev.edgePid}) is a child of dev: ${children.join(', ')}`,
      );
      assert.ok(children.length >= 4, `edge, connector and the two sample apps: ${children.join(', ')}`);
      stack.process.kill('SIGKILL');
      const deadline = Date.now() + 20_000;
      while (children.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(children.filter(alive), [], 'every child stopped when its parent went away');
      const refused = await portFree(stack.publicPort);
      assert.ok(refused, `port ${stack.publicPort} is free again`);
      // xrdp (when installed) runs under a watchdog child of dev: gone too, its port free.
      const rdpPort = stack.dev.rdp && Number(new URL(stack.dev.rdp.internalUrl.replace(/^rdp:/, 'http:')).port);
      if (rdpPort) assert.ok(await portFree(rdpPort), `xrdp's port ${rdpPort} is free again`);
    } finally {
      for (const pid of children.filter(alive)) process.kill(pid, 'SIGKILL');
      await stack.stop();
    }
  });
});
