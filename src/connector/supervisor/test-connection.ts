import http from 'node:http';
import https from 'node:https';
import type { ConnectorAppConfig, ConnectionTestResult } from '../../tunnel/protocol.ts';

/**
 * "Test connection" (an administrator's request, through the edge): one HTTP GET of the app's internal URL from this
 * connector, with the app's TLS settings (verification, its CA), no identity and no SSO. The answer is what an
 * administrator needs to tell "the backend is down" from "the backend answers, but not 2xx": the status code, the
 * time to the response headers, or the error (errno code, TLS error). Only apps published on this connector's group
 * are probed (the caller looks the app up in the pushed config): never an open prober of arbitrary addresses.
 */
export function testConnection(
  app: ConnectorAppConfig,
  connectorId: string,
  timeoutMs = 10_000,
): Promise<ConnectionTestResult> {
  const started = process.hrtime.bigint();
  const elapsed = (): number => Math.round(Number(process.hrtime.bigint() - started) / 1e6);
  const result = (status: number | null, error: string | null): ConnectionTestResult => ({
    appId: app.id,
    connectorId,
    url: app.internalUrl,
    status,
    ms: elapsed(),
    error,
    checkedAt: new Date().toISOString(),
  });
  return new Promise((resolve) => {
    let url: URL;
    try {
      url = new URL(app.internalUrl);
    } catch {
      return resolve(result(null, 'invalid internal URL'));
    }
    const secure = url.protocol === 'https:';
    const options: https.RequestOptions = {
      method: 'GET',
      headers: { 'user-agent': 'drawbridge-connector test-connection', accept: '*/*' },
      agent: false,
      timeout: timeoutMs,
      ...(secure ? { rejectUnauthorized: app.tlsVerify, ...(app.backendCa ? { ca: app.backendCa } : {}) } : {}),
    };
    const req = (secure ? https : http).request(url, options, (res) => {
      // The status is the answer; the body is not needed.
      resolve(result(res.statusCode ?? null, null));
      res.destroy();
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'ETIMEDOUT' })));
    req.once('error', (err: NodeJS.ErrnoException) => resolve(result(null, err.code ?? err.message)));
    req.end();
  });
}
