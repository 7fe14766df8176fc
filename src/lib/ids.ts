import { randomBytes } from 'node:crypto';

/** Correlation ids: short, URL-safe, unique enough to find one log line among billions. */
export function newCorrelationId(): string {
  return randomBytes(9).toString('base64url');
}
