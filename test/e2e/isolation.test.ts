import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import http2 from 'node:http2';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { register } from '../../src/connector/enroll/register.ts';
import { startChild, stopChild } from '../../src/cli/child.ts';
import { TUNNEL_ALPN, APP_HEADER, ERROR_HEADER, type ConnectorConfig } from '../../src/tunnel/protocol.ts';
import { pushConfig } from '../../src/tunnel/control.ts';
import { startDevStack, url, type DevStack } from '../helpers/dev-stack.ts';

/** A connector is never an open proxy, and tenants never see each other's traffic. Real processes throughout. */
describe('isolation: connector targets and tenants', { timeout: 180_000 }, () => {
  let stack: DevStack;
  let work: string;
  let contoso: { id: string; groupId: string; sampleInternal: string; sampleAppId: string };

  before(async () => {
    stack = await startDevStack();
    work = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-iso-'));
    const tenant = (await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants')).body.items.find(
      (t) => t.name === 'contoso',
    )!;
    const group = (await stack.admin<{ items: { id: string }[] }>('GET', `/tenants/${tenant.id}/connector-groups`)).body
      .items[0];
    const sample = (
      await stack.admin<{ items: { id: string; name: string; internalUrl: string }[] }>(
        'GET',
        `/tenants/${tenant.id}/apps`,
      )
    ).body.items.find((a) => a.name === 'sample')!;
    contoso = { id: tenant.id, groupId: group.id, sampleInternal: sample.internalUrl, sampleAppId: sample.id };
  });
  after(async () => {
    await stack?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function enroll(tenantId: string, groupId: string, name: string): Promise<string> {
    const token = (await stack.admin<{ token: string }>('POST', `/tenants/${tenantId}/enrollment-tokens`, { groupId }))
      .body.token;
    const stateDir = path.join(work, name);
    await register({
      edgeUrl: `https://tunnel.apps.localhost:${stack.publicPort}`,
      token,
      stateDir,
      caFile: stack.dev.caCertPath,
      version: 'test',
      connectAddress: `127.0.0.1:${stack.publicPort}`,
      name,
    });
    return stateDir;
  }

  async function metrics(port: number): Promise<Map<string, number>> {
    const text = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
    const counts = new Map<string, number>();
    for (const m of text.matchAll(/^drawbridge_connector_requests_total\{app="([^"]*)",outcome="([^"]*)"\} (\d+)/gm))
      counts.set(`${m[1]}/${m[2]}`, Number(m[3]));
    return counts;
  }

  it('refuses every target outside the apps published on its group, even when the edge asks', async () => {
    // A real connector process, enrolled with the real edge, is pointed at a rogue "edge" that holds the tunnel
    // server certificate (as a compromised or buggy edge would) and asks it for things it must refuse.
    const stateDir = await enroll(contoso.id, contoso.groupId, 'target-check');
    const tunnelCa = path.join(stack.dir, 'edge', 'tunnel-ca');
    // The CA lives in the edge's store; the connector keeps the copy it pins.
    const caPem = await readFile(path.join(stateDir, 'tunnel-ca.crt'), 'utf8');
    const sessions: http2.ClientHttp2Session[] = [];
    const rogue = tls.createServer(
      {
        key: await readFile(path.join(tunnelCa, 'server.key'), 'utf8'),
        cert: await readFile(path.join(tunnelCa, 'server.crt'), 'utf8'),
        ca: caPem,
        requestCert: true,
        rejectUnauthorized: true,
        ALPNProtocols: [TUNNEL_ALPN],
      },
      (socket) => sessions.push(http2.connect('https://tunnel.apps.localhost', { createConnection: () => socket })),
    );
    await new Promise<void>((r) => rogue.listen(0, '127.0.0.1', r));
    const registration = path.join(stateDir, 'connector.json');
    const json = JSON.parse(await readFile(registration, 'utf8'));
    json.connectAddress = `127.0.0.1:${(rogue.address() as { port: number }).port}`;
    await writeFile(registration, JSON.stringify(json), { mode: 0o600 });
    const connector = await startChild<{ metricsPort: number }>(
      ['connector', 'run', '--state-dir', stateDir, '--tunnels', '1', '--metrics-port', '0'],
      path.join(work, 'target-check.log'),
    );
    try {
      while (sessions.length === 0) await new Promise((r) => setTimeout(r, 50));
      const session = sessions[0];
      const config: ConnectorConfig = {
        version: 1,
        tenantId: contoso.id,
        groupId: contoso.groupId,
        apps: [
          {
            id: 'app_allowed',
            name: 'allowed',
            internalUrl: contoso.sampleInternal,
            backendTimeout: 5,
            tlsVerify: true,
            backendCa: null,
          },
        ],
      };
      await pushConfig(session, config);
      const ask = (headers: http2.OutgoingHttpHeaders) =>
        new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
          const s = session.request({ ':method': 'GET', ...headers }, { endStream: true });
          s.on('response', resolve);
          s.on('error', reject);
          s.resume();
        });
      assert.equal((await ask({ ':path': '/echo', [APP_HEADER]: 'app_allowed' }))[':status'], 200);
      for (const headers of [
        { ':path': '/echo', [APP_HEADER]: 'app_of_another_group' },
        { ':path': '/echo', [APP_HEADER]: '' },
        { ':path': '/internal-admin' },
      ]) {
        const answer = await ask(headers);
        assert.equal(answer[':status'], 403, JSON.stringify(headers));
        assert.equal(answer[ERROR_HEADER], 'DB-CONNECTOR-TARGET-REFUSED');
      }
      const counts = await metrics(connector.ready.metricsPort);
      assert.equal(counts.get('app_allowed/forwarded'), 1);
      assert.equal(counts.get('app_of_another_group/refused'), 1);
      const log = await readFile(path.join(work, 'target-check.log'), 'utf8');
      assert.match(log, /DB-CONNECTOR-TARGET-REFUSED/);
    } finally {
      await stopChild(connector.process, 5000);
      for (const s of sessions) s.destroy();
      rogue.close();
    }
  });

  it("never routes one tenant's request to another tenant's connector", async () => {
    const fabrikam = (
      await stack.admin<{ id: string }>('POST', '/tenants', { name: 'fabrikam', displayName: 'Fabrikam' })
    ).body;
    const group = (
      await stack.admin<{ id: string }>('POST', `/tenants/${fabrikam.id}/connector-groups`, { name: 'hq' })
    ).body;
    const app = (
      await stack.admin<{ id: string; externalUrl: string }>('POST', `/tenants/${fabrikam.id}/apps`, {
        name: 'intranet',
        internalUrl: contoso.sampleInternal,
        groupId: group.id,
        preAuth: 'passthrough',
      })
    ).body;
    // Before fabrikam has a connector, its app is down, and contoso's connectors are not used for it.
    const down = await request(`${app.externalUrl}/echo`, { dispatcher: stack.agent });
    assert.equal(down.statusCode, 502);
    assert.equal(down.headers['x-drawbridge-error'], 'DB-TUNNEL-NO-CONNECTOR');
    await down.body.dump();

    const stateDir = await enroll(fabrikam.id, group.id, 'fabrikam-1');
    const connector = await startChild<{ metricsPort: number }>(
      ['connector', 'run', '--state-dir', stateDir, '--metrics-port', '0'],
      path.join(work, 'fabrikam-1.log'),
    );
    try {
      let ok = false;
      for (let i = 0; i < 100 && !ok; i++) {
        const res = await request(`${app.externalUrl}/echo`, { dispatcher: stack.agent });
        ok = res.statusCode === 200;
        await res.body.dump();
        if (!ok) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(ok, 'fabrikam app answers once its connector is up');
      for (let i = 0; i < 20; i++) {
        for (const target of [`${app.externalUrl}/echo`, url(stack, 'sample', '/echo')]) {
          const res = await request(target, { dispatcher: stack.agent });
          assert.equal(res.statusCode, 200);
          await res.body.dump();
        }
      }
      const fab = await metrics(connector.ready.metricsPort);
      assert.ok((fab.get(`${app.id}/forwarded`) ?? 0) >= 20);
      assert.deepEqual(
        [...fab.keys()].filter((k) => !k.startsWith(app.id)),
        [],
        "fabrikam's connector saw only fabrikam's app",
      );
      for (const c of stack.dev.connectors) {
        const port = Number(new URL(c.metricsUrl).port);
        const seen = await metrics(port);
        assert.equal(
          [...seen.keys()].filter((k) => k.startsWith(app.id)).length,
          0,
          `contoso connector ${c.id} never saw fabrikam's app`,
        );
        assert.ok([...seen.keys()].some((k) => k.startsWith(contoso.sampleAppId)));
      }
    } finally {
      await stopChild(connector.process, 5000);
    }
  });
});
