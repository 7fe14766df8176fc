import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import pino from 'pino';
import type { EdgeNode, EdgeNodeTunnels } from '../../store/types.ts';
import { FakeSession } from '../tunnel/test-support.ts';
import { RelayPeers, groupsServedBy, relayKey } from './relay-peers.ts';
import { nodeIdOfPeer, NODE_CN_PREFIX } from './relay-credentials.ts';

/** Which peer node a relayed request goes to, from the registry's node list, without sockets. */

const logger = pino({ level: 'silent' });
const CREDENTIALS = { caCertPem: '', certPem: '', keyPem: '' };

function node(id: string, tunnels: Partial<EdgeNodeTunnels>[], advertise = `https://${id}.example:443`): EdgeNode {
  return {
    id,
    advertise,
    version: 'test',
    startedAt: '',
    lastSeenAt: '',
    inFlight: 0,
    tunnels: tunnels.map((t, i) => ({
      tenantId: 'tnt',
      connectorId: `con_${i}`,
      groupId: 'g',
      tunnels: 2,
      usable: 2,
      ...t,
    })),
  };
}

function peersOf(selfId = 'node-a'): { peers: RelayPeers; dialled: Map<string, FakeSession[]> } {
  const dialled = new Map<string, FakeSession[]>();
  const peers = new RelayPeers({
    selfId,
    logger,
    credentials: () => CREDENTIALS,
    pingIntervalMs: null,
    connect: (peer) => {
      const session = new FakeSession();
      dialled.set(peer.id, [...(dialled.get(peer.id) ?? []), session]);
      return session as unknown as ClientHttp2Session;
    },
  });
  return { peers, dialled };
}

test('a node serves the groups it holds usable tunnels of (an older node without `usable`: any tunnel)', () => {
  assert.deepEqual(
    [
      ...groupsServedBy(
        node('b', [{ groupId: 'g1' }, { groupId: 'g2', usable: 0 }, { groupId: 'g3', usable: undefined, tunnels: 1 }]),
      ),
    ].sort(),
    ['g1', 'g3'],
  );
});

test('offers a relay only to a peer holding the group, never to this node itself', () => {
  const { peers, dialled } = peersOf();
  peers.update([
    node('node-a', [{ groupId: 'g' }]),
    node('node-b', [{ groupId: 'other' }]),
    node('node-c', [{ groupId: 'g' }]),
  ]);
  assert.equal(peers.pick('g')?.relay?.peerNodeId, 'node-c');
  assert.equal(peers.pick('nobody-holds-it'), undefined);
  assert.deepEqual(
    [...dialled.keys()].sort(),
    ['node-b', 'node-c'],
    'sessions are dialled ahead of the first request, to peers holding any group',
  );
  assert.equal(peers.pick('g')?.relay?.fromNodeId, 'node-a');
});

test('picks the peer with the fewest relayed streams in flight; a peer already tried only when nothing else is left', () => {
  const { peers } = peersOf();
  peers.update([node('node-b', [{}]), node('node-c', [{}])]);
  const b = peers.peers().find((p) => p.id === 'node-b');
  assert.ok(b);
  const first = peers.pick('g')!;
  first.request({}, {});
  const second = peers.pick('g')!;
  assert.notEqual(second.relay?.peerNodeId, first.relay?.peerNodeId, 'the idle peer');
  second.request({}, {});
  second.request({}, {});
  assert.equal(peers.pick('g'), first, 'one stream against two');
  assert.equal(peers.pick('g', new Set([relayKey(first.relay!.peerNodeId)])), second, 'the tried one is avoided');
  assert.equal(
    peers.pick('g', new Set([relayKey('node-b'), relayKey('node-c')]))?.relay !== undefined,
    true,
    'all tried: still one',
  );
});

test('a peer whose tunnels of the group are gone, whose session closed, or that left the registry is not offered', () => {
  const { peers, dialled } = peersOf();
  peers.update([node('node-b', [{}])]);
  assert.ok(peers.pick('g'));
  peers.update([node('node-b', [{ usable: 0 }])]);
  assert.equal(peers.pick('g'), undefined, 'no usable tunnel of the group there any more');

  peers.update([node('node-b', [{}])]);
  dialled.get('node-b')![0].destroy();
  assert.equal(peers.pick('g'), undefined, 'its session closed');
  peers.update([node('node-b', [{}])]);
  assert.equal(dialled.get('node-b')!.length, 2, 'redialled at the next heartbeat');
  assert.ok(peers.pick('g'));

  const tunnel = peers.pick('g')!;
  peers.update([]);
  assert.equal(peers.pick('g'), undefined, 'gone from the registry');
  assert.equal(tunnel.draining, true, 'its session takes no new stream');
  assert.equal(dialled.get('node-b')![1].closed, true, 'and is closed');
});

test('a peer that comes back at another address is dialled there', () => {
  const { peers, dialled } = peersOf();
  peers.update([node('node-b', [{}], 'https://10.0.0.2:443')]);
  peers.update([node('node-b', [{}], 'https://10.0.0.3:443')]);
  assert.equal(dialled.get('node-b')!.length, 2);
  assert.equal(dialled.get('node-b')![0].closed, true);
  assert.equal(peers.pick('g')?.address, 'https://10.0.0.3:443');
});

test("only a node certificate (subject prefix, the role's extended key usage) is an edge node's", () => {
  const clientAuth = '1.3.6.1.5.5.7.3.2';
  const serverAuth = '1.3.6.1.5.5.7.3.1';
  const cert = (cn: string, eku: string[]) => ({ subject: { CN: cn } as never, ext_key_usage: eku });
  assert.equal(nodeIdOfPeer(cert(`${NODE_CN_PREFIX}node-b`, [clientAuth, serverAuth]), 'client'), 'node-b');
  assert.equal(nodeIdOfPeer(cert(`${NODE_CN_PREFIX}node-b`, [clientAuth, serverAuth]), 'server'), 'node-b');
  assert.equal(nodeIdOfPeer(cert('con_0123456789abcdef', [clientAuth]), 'client'), null, 'a connector certificate');
  assert.equal(nodeIdOfPeer(cert(`${NODE_CN_PREFIX}node-b`, [serverAuth]), 'client'), null, 'no clientAuth');
  assert.equal(nodeIdOfPeer(cert(`${NODE_CN_PREFIX}Node B`, [clientAuth]), 'client'), null, 'not a node id');
});
