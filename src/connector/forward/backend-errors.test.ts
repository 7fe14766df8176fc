import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendErrorCode } from './backend-errors.ts';

const err = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

test('a request the connector\'s client refuses to send is not "backend unreachable"', () => {
  assert.equal(backendErrorCode(err('UND_ERR_INVALID_ARG')), 'DB-CONNECTOR-REQUEST-INVALID');
  assert.equal(backendErrorCode(err('UND_ERR_NOT_SUPPORTED')), 'DB-CONNECTOR-REQUEST-INVALID');
  assert.equal(backendErrorCode(err('ECONNREFUSED')), 'DB-BACKEND-UNREACHABLE');
  assert.equal(backendErrorCode(err('UND_ERR_HEADERS_TIMEOUT')), 'DB-BACKEND-TIMEOUT');
  assert.equal(backendErrorCode(err('DEPTH_ZERO_SELF_SIGNED_CERT')), 'DB-BACKEND-TLS');
});
