import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EdgeConfigSchema } from '../config/edge-config.ts';
import { TUNNEL_MAX_HEADER_LIST_BYTES, TUNNEL_MAX_HEADER_PAIRS } from './flow-control.ts';

/** Slack for what the edge adds to a client's headers: pseudo-headers, forwarding headers, identity, assertion. */
const EDGE_METADATA_PAIRS = 16;
const EDGE_METADATA_BYTES = 16 * 1024;

test('the largest request the edge accepts fits in the tunnel, so only the edge ever refuses one (431)', () => {
  const limits = EdgeConfigSchema.properties.limits.properties;
  assert.ok(limits.maxHeaderCount.maximum! + EDGE_METADATA_PAIRS <= TUNNEL_MAX_HEADER_PAIRS);
  // HPACK counts 32 bytes per field on top of name and value (RFC 9113 §6.5.2).
  assert.ok(
    limits.maxHeaderBytes.maximum! +
      32 * (limits.maxHeaderCount.maximum! + EDGE_METADATA_PAIRS) +
      EDGE_METADATA_BYTES <=
      TUNNEL_MAX_HEADER_LIST_BYTES,
  );
});
