import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AvoidList,
  countByNode,
  dialableNodes,
  moveTarget,
  pickNode,
  planRebalance,
  type EdgeNodeAddress,
} from './spread.ts';

const node = (id: string): EdgeNodeAddress => ({ id, address: `127.0.0.1:${1000 + id.charCodeAt(0)}` });
const [a, b, c] = [node('a'), node('b'), node('c')];
const none = new Set<string>();

/** Dials `n` tunnels one after the other, as the supervisor does, and returns the node of each. */
function dialAll(nodes: EdgeNodeAddress[], n: number, avoid = none, firstTurn = 0): (string | null)[] {
  const placed: (string | null)[] = [];
  for (let i = 0; i < n; i++) placed.push(pickNode(nodes, countByNode(placed), avoid, firstTurn + i)?.id ?? null);
  return placed;
}

test("no list, or a list of one node, means the configured edge address (today's single-node behaviour)", () => {
  assert.deepEqual(dialableNodes([]), []);
  assert.deepEqual(dialableNodes([a]), []);
  assert.equal(pickNode([], new Map(), none, 0), null);
  assert.equal(pickNode([a], new Map(), none, 0), null);
  assert.deepEqual(dialableNodes([a, b]), [a, b]);
});

test('N tunnels go round robin over the nodes: two tunnels on two distinct nodes, four on two nodes two each', () => {
  for (let turn = 0; turn < 6; turn++) {
    const two = dialAll([a, b, c], 2, none, turn);
    assert.equal(new Set(two).size, 2, `two tunnels over three nodes land on two nodes (turn ${turn}): ${two}`);
    const three = dialAll([a, b, c], 3, none, turn);
    assert.deepEqual([...three].sort(), ['a', 'b', 'c']);
    const four = dialAll([a, b], 4, none, turn);
    assert.deepEqual([...countByNode(four).values()], [2, 2]);
  }
});

test('the turn breaks ties, so different connectors do not all start on the first node', () => {
  const firsts = new Set([0, 1, 2].map((turn) => pickNode([a, b, c], new Map(), none, turn)!.id));
  assert.deepEqual([...firsts].sort(), ['a', 'b', 'c']);
});

test('avoided nodes (draining, just failed) get no tunnel; all avoided falls back to the configured address', () => {
  assert.deepEqual(dialAll([a, b, c], 2, new Set(['a'])).sort(), ['b', 'c']);
  assert.deepEqual(dialAll([a, b], 2, new Set(['a'])), ['b', 'b']);
  assert.equal(pickNode([a, b], new Map(), new Set(['a', 'b']), 0), null);
});

test('a replacement for a dropped tunnel goes to the node with the fewest, never the one that dropped', () => {
  // Three tunnels one per node; c dies: its tunnel is redialled with c avoided.
  const load = countByNode(['a', 'b']);
  for (let turn = 0; turn < 4; turn++) assert.notEqual(pickNode([a, b, c], load, new Set(['c']), turn)!.id, 'c');
  // Two tunnels on a and b, b drops: the redial goes to c (none there) rather than a.
  assert.equal(pickNode([a, b, c], countByNode(['a']), new Set(['b']), 0)!.id, 'c');
});

test('rebalancing moves one tunnel at a time from the busiest node to the idlest until max − min ≤ 1', () => {
  // All tunnels came up through the configured address on node a.
  let placed = [0, 1, 2].map((key) => ({ key, nodeId: 'a' as string | null }));
  const moves: string[] = [];
  for (let i = 0; i < 10; i++) {
    const plan = planRebalance([a, b, c], placed, none);
    if (!plan) break;
    moves.push(`${plan.key}->${plan.to.id}`);
    placed = placed.map((t) => (t.key === plan.key ? { key: t.key, nodeId: plan.to.id } : t));
  }
  assert.equal(moves.length, 2, moves.join(' '));
  assert.deepEqual(placed.map((t) => t.nodeId).sort(), ['a', 'b', 'c']);
  // Two tunnels on one node of two: one moves.
  assert.deepEqual(
    planRebalance(
      [a, b],
      [
        { key: 0, nodeId: 'a' },
        { key: 1, nodeId: 'a' },
      ],
      none,
    ),
    { key: 1, to: b },
  );
});

test('an even enough spread is left alone: no churn when a node joins or comes back', () => {
  assert.equal(
    planRebalance(
      [a, b, c],
      [
        { key: 0, nodeId: 'a' },
        { key: 1, nodeId: 'b' },
      ],
      none,
    ),
    null,
  );
  assert.equal(
    planRebalance(
      [a, b, c],
      [
        { key: 0, nodeId: 'a' },
        { key: 1, nodeId: 'a' },
        { key: 2, nodeId: 'b' },
        { key: 3, nodeId: 'c' },
      ],
      none,
    ),
    null,
  );
  // A single node, or one usable node, is nothing to spread over.
  assert.equal(
    planRebalance(
      [a],
      [
        { key: 0, nodeId: 'a' },
        { key: 1, nodeId: 'a' },
      ],
      none,
    ),
    null,
  );
  assert.equal(
    planRebalance(
      [a, b],
      [
        { key: 0, nodeId: 'a' },
        { key: 1, nodeId: 'a' },
      ],
      new Set(['b']),
    ),
    null,
  );
  // Tunnels on a node gone from the list, or on an unknown node, stay (they die with it, or the edge will say).
  assert.equal(
    planRebalance(
      [a, b],
      [
        { key: 0, nodeId: 'x' },
        { key: 1, nodeId: 'x' },
        { key: 2, nodeId: null },
      ],
      none,
    ),
    null,
  );
});

test('the avoid list expires, and forgets nodes that left the list', () => {
  const avoid = new AvoidList();
  avoid.avoid('a', 1_000, 0);
  avoid.avoid('b', 5_000, 0);
  assert.deepEqual([...avoid.current(500)].sort(), ['a', 'b']);
  assert.deepEqual([...avoid.current(2_000)], ['b']);
  avoid.keepOnly([a, c]);
  assert.deepEqual([...avoid.current(2_000)], []);
  avoid.avoid('c', 1_000, 0);
  avoid.avoid('c', 100, 0);
  assert.deepEqual([...avoid.current(500)], ['c'], 'a shorter avoidance does not cut a longer one');
});

test('a move never lands on a draining node, even one the avoid list forgot: with every other node draining, the tunnel stays', () => {
  // A rolling restart: b drained, restarted and came back (the avoid list forgot it when it left the node list, but
  // its draining mark stands), c is draining now. The tunnel on c must not go to b, then back to c, and so on.
  const avoid = new AvoidList();
  avoid.avoid('c', 60_000);
  avoid.avoid('b', 60_000);
  avoid.keepOnly([a, c]); // b left the list while restarting
  const draining = ['b', 'c'];
  const load = countByNode(['c', 'a']);
  assert.equal(moveTarget([a, b, c], load, avoid.current(), draining, 'c', 0)?.id, 'a', 'the one node not draining');
  assert.equal(moveTarget([b, c], countByNode(['c']), avoid.current(), draining, 'c', 0), null, 'nowhere better');
  assert.equal(moveTarget([b, c], countByNode(['b']), avoid.current(), draining, 'b', 1), null, 'and not back');
  // Without the draining marks the same lists would send it to b: what the supervisor did before.
  assert.equal(moveTarget([b, c], countByNode(['c']), avoid.current(), [], 'c', 0)?.id, 'b');
});
