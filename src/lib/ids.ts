import { randomBytes } from 'node:crypto';

/**
 * Correlation ids: a random prefix per process plus a counter. Unique across processes and restarts, cheap on the
 * request path (a randomBytes call per request cost ~5% of the edge's CPU), and short enough to read out on the phone.
 * They identify a request in the logs; they are not secrets.
 */
const prefix = randomBytes(6).toString('base64url');
let counter = 0;

export function newCorrelationId(): string {
  counter = (counter + 1) % Number.MAX_SAFE_INTEGER;
  return prefix + counter.toString(36);
}
