import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { request } from 'undici';
import { startDevStack, url, type DevStack } from '../helpers/dev-stack.ts';

/** SIGTERM on the edge drains: what is in flight finishes, nothing new is taken, then it exits cleanly. */
describe('edge drain on SIGTERM', { timeout: 120_000 }, () => {
  let stack: DevStack;
  before(async () => {
    stack = await startDevStack();
  });
  after(async () => {
    await stack?.stop();
  });

  it('finishes an in-flight request, refuses new connections, and exits 0', async () => {
    const edgePid = stack.dev.edgePid;
    const inFlight = request(url(stack, 'sample', '/slow/2'), { dispatcher: stack.agent });
    await new Promise((r) => setTimeout(r, 500));
    const exited = new Promise<number | null>((resolve) => {
      const timer = setInterval(() => {
        try {
          process.kill(edgePid, 0);
        } catch {
          clearInterval(timer);
          resolve(0);
        }
      }, 50);
    });
    process.kill(edgePid, 'SIGTERM');

    // New connections are refused while the old request is still being answered.
    await new Promise((r) => setTimeout(r, 300));
    const refused = await new Promise<string>((resolve) => {
      const socket = net.connect(stack.publicPort, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve('accepted');
      });
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    assert.equal(refused, 'ECONNREFUSED');

    const res = await inFlight;
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'GET answered after 2 s\n');
    await exited;
    const log = await import('node:fs/promises').then((fs) => fs.readFile(`${stack.dir}/logs/edge.log`, 'utf8'));
    assert.match(log, /edge drained/);
    assert.match(log, /"requestsLeft":0/);
  });
});
