import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { ConnectorAppConfig } from '../../tunnel/protocol.ts';
import { testConnection } from './test-connection.ts';

const app = (internalUrl: string): ConnectorAppConfig => ({
  id: 'app_1',
  name: 'wiki',
  internalUrl,
  backendTimeout: 30,
  tlsVerify: true,
  backendCa: null,
});

test('test connection answers the backend status, or the error when nothing listens', async () => {
  const server = http.createServer((req, res) => {
    res.writeHead(req.method === 'GET' && req.url === '/wiki/' ? 418 : 500).end('body not read');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  try {
    const ok = await testConnection(app(`http://127.0.0.1:${port}/wiki/`), 'con_1');
    assert.equal(ok.status, 418);
    assert.equal(ok.error, null);
    assert.equal(ok.connectorId, 'con_1');
    assert.ok(ok.ms >= 0);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const refused = await testConnection(app(`http://127.0.0.1:${port}/`), 'con_1');
  assert.equal(refused.status, null);
  assert.equal(refused.error, 'ECONNREFUSED');
  assert.equal((await testConnection(app('not a url'), 'con_1')).error, 'invalid internal URL');
});
