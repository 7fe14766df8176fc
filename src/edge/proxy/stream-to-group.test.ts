import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import pino from 'pino';
import { TunnelRegistry } from '../tunnel/registry.ts';
import { RELAYED_HEADER, Tunnel } from '../tunnel/tunnel.ts';
import { fakeTunnel, type FakeStream } from '../tunnel/test-support.ts';
import { streamToGroup, WAIT_FOR_TUNNEL_MS, type FailReason, type GroupStreamRequest } from './stream-to-group.ts';

/** The retry and failure rules of the one request path, without sockets. */

const { NGHTTP2_REFUSED_STREAM, NGHTTP2_INTERNAL_ERROR, NGHTTP2_PROTOCOL_ERROR } = http2.constants;
const logger = pino({ level: 'silent' });

interface Outcome {
  responses: { connectorId: string; retried: FailReason | null }[];
  failures: string[];
  opened: string[];
}

function run(registry: TunnelRegistry, overrides: Partial<GroupStreamRequest> = {}): Outcome {
  const outcome: Outcome = { responses: [], failures: [], opened: [] };
  streamToGroup(
    registry,
    {
      groupId: 'g',
      appId: 'app',
      headers: { ':method': 'GET', ':path': '/' },
      options: { endStream: true },
      idempotent: true,
      resendable: () => true,
      wanted: () => true,
      correlationId: 'c',
      logger,
      ...overrides,
    },
    {
      onOpen: (_stream, tunnel) => {
        outcome.opened.push(tunnel.connectorId);
      },
      onResponse: (_stream, _headers, tunnel, retried) => {
        outcome.responses.push({ connectorId: tunnel.connectorId, retried });
      },
      onFail: (code) => {
        outcome.failures.push(code);
      },
    },
  );
  return outcome;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const last = (t: ReturnType<typeof fakeTunnel>): FakeStream => t.session.streams[t.session.streams.length - 1];

test('answers from the picked tunnel; the stream counts in flight until it closes', async () => {
  const a = fakeTunnel('a', 'g');
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  const outcome = run(registry);
  assert.equal(a.tunnel.inFlight, 1);
  last(a).answer({ ':status': 200 });
  assert.deepEqual(outcome.responses, [{ connectorId: 'a', retried: null }]);
  last(a).reset(0);
  assert.equal(a.tunnel.inFlight, 0);
});

test('no tunnel, none coming back: DB-TUNNEL-NO-CONNECTOR at once', () => {
  assert.deepEqual(run(new TunnelRegistry()).failures, ['DB-TUNNEL-NO-CONNECTOR']);
});

test('a lost stream is retried once on another connector for an idempotent request, never a third time', async () => {
  const a = fakeTunnel('a', 'g');
  const b = fakeTunnel('b', 'g');
  const c = fakeTunnel('c', 'g');
  const registry = new TunnelRegistry();
  for (const t of [a, b, c]) registry.add(t.tunnel);
  const outcome = run(registry);
  const first = outcome.opened[0];
  const tunnels = { a, b, c };
  last(tunnels[first as 'a']).reset(NGHTTP2_INTERNAL_ERROR);
  assert.equal(outcome.opened.length, 2);
  assert.notEqual(outcome.opened[1], first, 'another connector');
  last(tunnels[outcome.opened[1] as 'a']).reset(NGHTTP2_INTERNAL_ERROR);
  assert.deepEqual(outcome.failures, ['DB-TUNNEL-STREAM-FAILED']);
  assert.equal(outcome.opened.length, 2);
});

test('a lost stream of a non-idempotent request is not sent again; a refused one is, while nothing is used up', () => {
  const a = fakeTunnel('a', 'g');
  const b = fakeTunnel('b', 'g');
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  registry.add(b.tunnel);
  const lost = run(registry, { idempotent: false });
  const owner = lost.opened[0] === 'a' ? a : b;
  last(owner).reset(NGHTTP2_INTERNAL_ERROR);
  assert.deepEqual(lost.failures, ['DB-TUNNEL-STREAM-FAILED']);

  const refused = run(registry, { idempotent: false });
  const refusedOwner = refused.opened[0] === 'a' ? a : b;
  last(refusedOwner).reset(NGHTTP2_REFUSED_STREAM);
  assert.equal(refused.opened.length, 2, 'a refused stream never reached a backend');
  last(refusedOwner === a ? b : a).answer({ ':status': 201 });
  assert.deepEqual(
    refused.responses.map((r) => r.retried),
    ['refused'],
  );

  const usedUp = run(registry, { idempotent: false, resendable: () => false });
  last(usedUp.opened[0] === 'a' ? a : b).reset(NGHTTP2_REFUSED_STREAM);
  assert.deepEqual(usedUp.failures, ['DB-TUNNEL-STREAM-FAILED'], 'its body was already sent into the refused stream');
});

test('a target refusal forgets the app on that tunnel and goes to a connector that has it', () => {
  const a = fakeTunnel('a', 'g');
  const b = fakeTunnel('b', 'g');
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  registry.add(b.tunnel);
  const outcome = run(registry, { idempotent: false });
  const first = outcome.opened[0] === 'a' ? a : b;
  last(first).answer({ ':status': 502, 'x-drawbridge-error': 'DB-CONNECTOR-TARGET-REFUSED' });
  assert.equal(first.tunnel.knows('app'), false);
  assert.equal(outcome.opened.length, 2);
  assert.deepEqual(outcome.responses, []);
});

test('ejection fails over a stream still waiting for its response', () => {
  const a = fakeTunnel('a', 'g');
  const b = fakeTunnel('b', 'g');
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  registry.add(b.tunnel);
  const outcome = run(registry);
  const first = outcome.opened[0] === 'a' ? a : b;
  first.tunnel.eject('ping');
  assert.equal(last(first).rstCode, http2.constants.NGHTTP2_CANCEL, 'the stalled stream is cancelled');
  assert.equal(outcome.opened.length, 2);
  last(first === a ? b : a).answer({ ':status': 200 });
  assert.deepEqual(
    outcome.responses.map((r) => r.retried),
    ['ejected'],
  );
});

test("resets a request can cause never count against the tunnel's health; other resets do", () => {
  const a = fakeTunnel('a', 'g');
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  let failures = 0;
  a.tunnel.watchedBy({
    streamFailed: () => {
      failures++;
    },
    streamSucceeded: () => {},
  });
  last_reset(registry, a, NGHTTP2_PROTOCOL_ERROR);
  assert.equal(failures, 0);
  last_reset(registry, a, NGHTTP2_INTERNAL_ERROR);
  assert.equal(failures, 1);
});

test('a stream the edge cancelled because its client left never counts against the tunnel, and is not retried', () => {
  const a = fakeTunnel('a', 'g');
  const b = fakeTunnel('b', 'g');
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  registry.add(b.tunnel);
  let failures = 0;
  for (const t of [a, b])
    t.tunnel.watchedBy({
      streamFailed: () => {
        failures++;
      },
      streamSucceeded: () => {},
    });
  for (let i = 0; i < 5; i++) {
    let clientGone = false;
    const outcome = run(registry, { wanted: () => !clientGone });
    clientGone = true;
    last(outcome.opened[0] === 'a' ? a : b).reset(http2.constants.NGHTTP2_CANCEL);
    assert.equal(outcome.opened.length, 1, 'no further attempt for a client that left');
    assert.deepEqual(outcome.failures, []);
  }
  assert.equal(failures, 0);
});

function last_reset(registry: TunnelRegistry, t: ReturnType<typeof fakeTunnel>, code: number): void {
  run(registry, { idempotent: false });
  last(t).reset(code);
}

test('waits for a tunnel that may come back, then takes an ejected one as a last resort', async () => {
  const a = fakeTunnel('a', 'g');
  a.tunnel.eject('ping');
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  const outcome = run(registry);
  assert.deepEqual(outcome.opened, []);
  await new Promise((r) => setTimeout(r, 2_200));
  assert.deepEqual(outcome.opened, ['a']);
});

test('a request no longer wanted (client gone) opens nothing more', async () => {
  const a = fakeTunnel('a', 'g');
  const b = fakeTunnel('b', 'g');
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  registry.add(b.tunnel);
  let wanted = true;
  const outcome = run(registry, { wanted: () => wanted });
  wanted = false;
  last(outcome.opened[0] === 'a' ? a : b).reset(NGHTTP2_INTERNAL_ERROR);
  await tick();
  assert.equal(outcome.opened.length, 1);
  assert.deepEqual(outcome.failures, []);
});

test('a tunnel whose session refuses a new stream is passed over: the request goes elsewhere', () => {
  const a = fakeTunnel('a', 'g');
  const b = fakeTunnel('b', 'g');
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  registry.add(b.tunnel);
  registry.openStream(b.tunnel, {}, {}); // b is busier: a is picked first
  a.session.refuse = true;
  const outcome = run(registry, { idempotent: false });
  assert.deepEqual(outcome.opened, ['b'], 'a never processed it, so even a POST goes on');
  assert.equal(a.session.streams.length, 0);
});

/** A registry whose only way to the group is a relay to a peer edge node (a tunnel flagged as a relay). */
function relayTo(registry: TunnelRegistry, peerNodeId: string): ReturnType<typeof fakeTunnel> {
  const peer = fakeTunnel(`relay:${peerNodeId}`, '', []);
  const relayed = new Tunnel({
    id: `rel_${peerNodeId}`,
    connectorId: `relay:${peerNodeId}`,
    tenantId: '',
    certSerial: '',
    groupId: '',
    session: peer.tunnel.session,
    address: null,
    version: null,
    hostname: null,
    relay: { peerNodeId, fromNodeId: 'node-a' },
  });
  let holds = true;
  registry.usePeers({
    pick: (groupId) => (groupId === 'g' && holds && relayed.usable ? relayed : undefined),
    forget: () => {
      holds = false;
    },
  });
  return { tunnel: relayed, session: peer.session };
}

test('no local tunnel of the group: the request goes to a peer node through the relay, marked as relayed', () => {
  const registry = new TunnelRegistry();
  const peer = relayTo(registry, 'node-b');
  const outcome = run(registry);
  assert.deepEqual(outcome.opened, ['relay:node-b']);
  assert.equal(last(peer).headers[RELAYED_HEADER], 'node-a', 'the peer learns the stream was relayed, and from whom');
  last(peer).answer({ ':status': 200 });
  assert.deepEqual(outcome.responses, [{ connectorId: 'relay:node-b', retried: null }]);
  assert.deepEqual(registry.status('tnt'), [], "a relay is not listed among the tenant's connectors");
});

test('a usable local tunnel always beats the relay', () => {
  const registry = new TunnelRegistry();
  const peer = relayTo(registry, 'node-b');
  const a = fakeTunnel('a', 'g');
  registry.add(a.tunnel);
  for (let i = 0; i < 5; i++) assert.deepEqual(run(registry).opened, ['a']);
  assert.equal(peer.session.streams.length, 0);
});

test('one hop: a stream relayed here (localOnly) never goes to a peer node again', () => {
  const registry = new TunnelRegistry();
  const peer = relayTo(registry, 'node-b');
  const outcome = run(registry, { localOnly: true });
  assert.deepEqual(outcome.failures, ['DB-TUNNEL-NO-CONNECTOR']);
  assert.equal(peer.session.streams.length, 0);
});

test('a relay lost before its response is retried like a tunnel (idempotent request), the failure reason kept', () => {
  const registry = new TunnelRegistry();
  const peer = relayTo(registry, 'node-b');
  const outcome = run(registry);
  last(peer).reset(NGHTTP2_INTERNAL_ERROR);
  assert.deepEqual(outcome.opened, ['relay:node-b', 'relay:node-b'], 'the only peer, tried again');
  last(peer).answer({ ':status': 200 });
  assert.deepEqual(outcome.responses, [{ connectorId: 'relay:node-b', retried: 'lost' }]);
});

test('local tunnels that may come back are waited for; when none does, a healthy peer beats an ejected local tunnel', async () => {
  const registry = new TunnelRegistry();
  const peer = relayTo(registry, 'node-b');
  const a = fakeTunnel('a', 'g');
  a.tunnel.eject('ping');
  registry.add(a.tunnel);
  const outcome = run(registry);
  assert.deepEqual(outcome.opened, [], 'waiting for the ejected tunnel to come back');
  await new Promise((r) => setTimeout(r, WAIT_FOR_TUNNEL_MS + 200));
  assert.deepEqual(outcome.opened, ['relay:node-b']);
  assert.equal(peer.session.streams.length, 1);
  assert.equal(a.session.streams.length, 0);
});

test('a peer that answers it holds no tunnel of the group after all is passed over: the request goes elsewhere', async () => {
  const registry = new TunnelRegistry();
  const peer = relayTo(registry, 'node-b');
  const outcome = run(registry, { idempotent: false });
  assert.equal(peer.session.streams.length, 1);
  // The stale peer refuses; meanwhile a local tunnel of the group comes up: the (non-idempotent) request takes it.
  const local = fakeTunnel('a', 'g');
  registry.add(local.tunnel);
  last(peer).answer({ ':status': 502, 'x-drawbridge-error': 'DB-TUNNEL-NO-CONNECTOR' });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(local.session.streams.length, 1, 'retried on the local tunnel: nothing had reached a backend');
  last(local).answer({ ':status': 200 });
  assert.deepEqual(
    outcome.responses.map((r) => [r.connectorId, r.retried]),
    [['a', 'refused']],
  );
});
