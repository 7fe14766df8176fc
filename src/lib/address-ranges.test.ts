import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AddressRanges, parseRange } from './address-ranges.ts';

test('addresses and CIDR ranges, IPv4 and IPv6; an IPv4-mapped peer counts as IPv4', () => {
  const ranges = new AddressRanges(['127.0.0.2/32', '10.1.0.0/16', '2001:db8:1::/48', '192.0.2.9']);
  assert.ok(ranges.has('127.0.0.2'));
  assert.ok(ranges.has('::ffff:127.0.0.2'));
  assert.ok(!ranges.has('127.0.0.1'));
  assert.ok(ranges.has('10.1.255.3'));
  assert.ok(!ranges.has('10.2.0.1'));
  assert.ok(ranges.has('2001:db8:1:ffff::1'));
  assert.ok(!ranges.has('2001:db8:2::1'));
  assert.ok(ranges.has('192.0.2.9'));
  assert.ok(!ranges.has(undefined));
  assert.ok(!new AddressRanges([]).has('127.0.0.2'));
});

test('entries that are not an address or a range are refused', () => {
  for (const bad of ['127.0.0.1/33', '10.0.0.0/', 'example.com', '10.0.0.0/8/1', '::1/129', '10.0.0.0/08'])
    assert.equal(parseRange(bad), null, bad);
  assert.throws(() => new AddressRanges(['nope']));
  assert.deepEqual(parseRange('::1'), { address: '::1', prefix: 128, family: 'ipv6' });
});
