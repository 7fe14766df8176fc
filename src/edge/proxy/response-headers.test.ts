import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { App } from '../../store/types.ts';
import { buildResponseHeaders } from './response-headers.ts';

const app = {
  internalUrl: 'http://intranet.corp:8080',
  externalUrl: 'https://hr-contoso.apps.localhost:8443',
  linkTranslation: { headers: true, body: false },
  hsts: null,
} as App;

test("a backend cannot set Drawbridge's own cookies on the app host, however it spells the name", () => {
  const out = buildResponseHeaders(
    {
      ':status': '200',
      'set-cookie': [
        '__Host-drawbridge-session=forged; Path=/; Secure',
        '__Host-drawbridge-session =forged; Path=/',
        ' __Host-drawbridge-auth=x',
        'app=1; Path=/',
      ],
    },
    app,
  );
  assert.deepEqual(out['set-cookie'], ['app=1; Path=/']);
  assert.equal(
    buildResponseHeaders({ ':status': '200', 'set-cookie': ['__Host-drawbridge-login=x'] }, app)['set-cookie'],
    undefined,
  );
});

test('translates internal URLs in Location and drops tunnel metadata', () => {
  const out = buildResponseHeaders(
    { ':status': '302', location: 'http://intranet.corp:8080/pay?x=1', 'x-drawbridge-error': 'X' },
    app,
  );
  assert.equal(out.location, 'https://hr-contoso.apps.localhost:8443/pay?x=1');
  assert.equal(out['x-drawbridge-error'], undefined);
  assert.equal(out[':status'], undefined);
});
