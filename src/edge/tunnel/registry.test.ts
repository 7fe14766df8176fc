import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TunnelRegistry } from './registry.ts';
import { fakeTunnel } from './test-support.ts';
import { headerList } from './tunnel.ts';

/** Balancing, ejection and the wait, without sockets (the policies Caddy keeps its selection tests beside). */

function registryWith(...tunnels: ReturnType<typeof fakeTunnel>[]): TunnelRegistry {
  const registry = new TunnelRegistry();
  for (const t of tunnels) registry.add(t.tunnel);
  return registry;
}

/** Opens `n` streams on a tunnel through the registry, so its in-flight count is `n`. */
function load(registry: TunnelRegistry, t: ReturnType<typeof fakeTunnel>, n: number): void {
  for (let i = 0; i < n; i++) registry.openStream(t.tunnel, {}, {});
}

test('picks the connector carrying the fewest open streams, then its least busy tunnel', () => {
  const a1 = fakeTunnel('a', 'g');
  const a2 = fakeTunnel('a', 'g');
  const b1 = fakeTunnel('b', 'g');
  const registry = registryWith(a1, a2, b1);
  load(registry, a1, 1);
  load(registry, b1, 2);
  // a carries 1, b carries 2: a wins, and of a's tunnels the idle one.
  assert.equal(registry.pick('g', 'app'), a2.tunnel);
  load(registry, a2, 2);
  assert.equal(registry.pick('g', 'app'), b1.tunnel);
});

test('the in-flight count rises with each stream and falls when it closes', async () => {
  const a = fakeTunnel('a', 'g');
  const registry = registryWith(a);
  registry.openStream(a.tunnel, {}, {});
  registry.openStream(a.tunnel, {}, {});
  assert.equal(a.tunnel.inFlight, 2);
  a.session.streams[0].reset(0);
  a.session.streams[1].close(8);
  await new Promise((r) => setImmediate(r));
  assert.equal(a.tunnel.inFlight, 0);
  assert.equal(registry.status('tnt')[0].streamsOpened, 2);
});

test('rotates between idle connectors', () => {
  const registry = registryWith(fakeTunnel('a', 'g'), fakeTunnel('b', 'g'), fakeTunnel('c', 'g'));
  const picked = new Set(Array.from({ length: 6 }, () => registry.pick('g', 'app')!.connectorId));
  assert.deepEqual([...picked].sort(), ['a', 'b', 'c']);
});

test('passes over tunnels that do not know the app, are ejected, draining or closed', () => {
  const unknown = fakeTunnel('a', 'g', ['other']);
  const ejected = fakeTunnel('b', 'g');
  const draining = fakeTunnel('c', 'g');
  const closed = fakeTunnel('d', 'g');
  ejected.tunnel.eject('ping');
  draining.tunnel.drain();
  closed.session.closed = true;
  const registry = registryWith(unknown, ejected, draining, closed);
  assert.equal(registry.pick('g', 'app'), undefined);
  assert.equal(registry.pick('g', 'other'), unknown.tunnel);
  assert.equal(registry.pick('elsewhere', 'app'), undefined);
});

test('avoids connectors already tried and those reporting the backend down, unless nothing else is left', () => {
  const a = fakeTunnel('a', 'g');
  const b = fakeTunnel('b', 'g');
  const registry = registryWith(a, b);
  load(registry, b, 5);
  assert.equal(registry.pick('g', 'app', new Set(['a'])), b.tunnel);
  assert.equal(registry.pick('g', 'app', new Set(['a', 'b'])), a.tunnel, 'both tried: the least loaded');
  a.tunnel.recordBackends([
    { appId: 'app', reachable: false, checkedAt: new Date().toISOString(), error: 'ECONNREFUSED' },
  ]);
  assert.equal(registry.pick('g', 'app'), b.tunnel, 'a backend reported down ranks below load');
});

test('ejection fails over the streams waiting for their response; restore brings the tunnel back', () => {
  const a = fakeTunnel('a', 'g');
  let failedOver = 0;
  const stop = a.tunnel.awaitResponse(() => {
    failedOver++;
  });
  a.tunnel.awaitResponse(() => {
    failedOver++;
  });
  stop();
  assert.equal(a.tunnel.eject('ping'), true);
  assert.equal(failedOver, 1, 'only the stream still waiting');
  assert.equal(a.tunnel.eject('streams'), false, 'already ejected');
  assert.equal(a.tunnel.state, 'ejected');
  assert.equal(a.tunnel.restore(), true);
  assert.equal(a.tunnel.usable, true);
  a.tunnel.drain();
  assert.equal(a.tunnel.eject('ping'), false, 'a draining tunnel is not ejected');
  assert.equal(a.tunnel.state, 'draining');
});

test('an older config acknowledgement never wins, and a refusal forgets the app only for the config it was picked under', () => {
  const a = fakeTunnel('a', 'g', ['app']);
  a.tunnel.acknowledge(5, ['app', 'x']);
  a.tunnel.acknowledge(3, []);
  assert.equal(a.tunnel.knows('x'), true);
  a.tunnel.forgetApp('x', 4);
  assert.equal(a.tunnel.knows('x'), true, 'picked under another config: kept');
  a.tunnel.forgetApp('x', 5);
  assert.equal(a.tunnel.knows('x'), false);
});

test('mayRecover: an up tunnel that has not acknowledged the app yet, or an ejected one; pickEjected is the last resort', () => {
  const a = fakeTunnel('a', 'g', []);
  const registry = registryWith(a);
  assert.equal(registry.mayRecover('g', 'app'), true);
  a.tunnel.acknowledge(2, ['app']);
  a.tunnel.eject('ping');
  assert.equal(registry.pick('g', 'app'), undefined);
  assert.equal(registry.mayRecover('g', 'app'), true);
  assert.equal(registry.pickEjected('g', 'app'), a.tunnel);
  a.tunnel.drain();
  assert.equal(registry.mayRecover('g', 'app'), false);
  assert.equal(registry.pickEjected('g', 'app'), undefined);
});

test('waitForTunnel returns the tunnel once it acknowledges the app, and gives up at its deadline', async () => {
  const a = fakeTunnel('a', 'g', []);
  const registry = registryWith(a);
  setTimeout(() => a.tunnel.acknowledge(2, ['app']), 60);
  assert.equal(await registry.waitForTunnel('g', 'app', 2_000), a.tunnel);
  const b = fakeTunnel('b', 'h', []);
  registry.add(b.tunnel);
  const started = Date.now();
  assert.equal(await registry.waitForTunnel('h', 'app', 100), undefined);
  assert.ok(Date.now() - started >= 90);
});

test("regroup moves a connector's tunnels to another group", () => {
  const a = fakeTunnel('a', 'g');
  const registry = registryWith(a);
  registry.regroup('a', 'h');
  assert.equal(registry.pick('g', 'app'), undefined);
  assert.equal(registry.pick('h', 'app'), a.tunnel);
  assert.equal(a.tunnel.groupId, 'h');
});

test("one connector's workers: a retry goes to another worker's tunnel, and status counts the processes", () => {
  // Connector a runs as two processes (connector run --workers 2), two tunnels each.
  const w1 = [
    fakeTunnel('a', 'g', ['app'], { pid: 101, worker: 1 }),
    fakeTunnel('a', 'g', ['app'], { pid: 101, worker: 1 }),
  ];
  const w2 = [
    fakeTunnel('a', 'g', ['app'], { pid: 202, worker: 2 }),
    fakeTunnel('a', 'g', ['app'], { pid: 202, worker: 2 }),
  ];
  const registry = registryWith(...w1, ...w2);
  // Side by side: none replaced another.
  assert.equal(registry.tunnelsOfConnector('a').length, 4);
  const [status] = registry.status('tnt');
  assert.equal(status.tunnels, 4);
  assert.equal(status.workers, 2);
  assert.deepEqual(
    status.tunnelDetails!.map((t) => t.worker),
    [1, 1, 2, 2],
  );
  // A request that failed on worker 1 (whose other tunnel may not be seen closed yet) goes to worker 2, even though
  // worker 2's tunnels are busier.
  load(registry, w2[0], 3);
  load(registry, w2[1], 3);
  const avoid = new Set(['a', w1[0].tunnel.processKey]);
  const heldBy = (picked: unknown) =>
    w1.some((t) => t.tunnel === picked) ? 1 : w2.some((t) => t.tunnel === picked) ? 2 : 0;
  for (let i = 0; i < 4; i++) assert.equal(heldBy(registry.pick('g', 'app', avoid)), 2);
  // Without the avoidance, least busy as ever.
  assert.equal(heldBy(registry.pick('g', 'app')), 1);
  // Only worker 1 left: still taken rather than nothing.
  for (const t of w2) t.session.closed = true;
  assert.equal(heldBy(registry.pick('g', 'app', avoid)), 1);
});

test('stream headers go to the session as a flat list: every value a string, repeated names repeated, unset ones left out', () => {
  assert.deepEqual(
    headerList({ ':method': 'GET', 'content-length': 3, accept: ['a', 'b'], 'x-none': undefined, host: 'h' }),
    [':method', 'GET', 'content-length', '3', 'accept', 'a', 'accept', 'b', 'host', 'h'],
  );
});
