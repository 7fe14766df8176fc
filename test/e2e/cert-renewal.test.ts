import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { once } from 'node:events';
import http2 from 'node:http2';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import tls from 'node:tls';
import { startChild, stopChild } from '../../src/cli/child.ts';
import { normalizeSerial } from '../../src/pki/serial.ts';
import { TUNNEL_ALPN } from '../../src/tunnel/protocol.ts';
import { startDevStack, url, logsOf, type DevStack } from '../helpers/dev-stack.ts';
import { runConnector, startLoad, summarize, waitUntil, type GroupHealthBody } from '../helpers/load.ts';

interface ConnectorBody {
  id: string;
  certSerial: string;
  certNotAfter: string;
  previousCertSerial: string | null;
}

/**
 * Connector certificate renewal over the tunnel, against `drawbridge dev` with real processes: the connector makes
 * a new key, the edge issues the certificate, the connector installs it and redials its tunnels one by one, under
 * load, with nothing failing; the old certificate is refused afterwards and a restart uses the new one.
 */
describe('connector certificate renewal', { timeout: 120_000 }, () => {
  let stack: DevStack;
  let tenantId: string;
  let groupId: string;

  before(async () => {
    stack = await startDevStack();
    tenantId = (await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants')).body.items.find(
      (t) => t.name === 'contoso',
    )!.id;
    groupId = (
      await stack.admin<{ items: { id: string; name: string }[] }>('GET', `/tenants/${tenantId}/connector-groups`)
    ).body.items.find((g) => g.name === 'default')!.id;
  });
  /** Connectors this test started itself (the restarted one), stopped before the stack. */
  const started: ChildProcess[] = [];
  after(async () => {
    for (const child of started) await stopChild(child, 5000);
    await stack?.stop();
  });

  const connector = async (id: string) =>
    (await stack.admin<ConnectorBody>('GET', `/tenants/${tenantId}/connectors/${id}`)).body;
  const healthyTunnels = async (id: string): Promise<number> => {
    const health = (
      await stack.admin<GroupHealthBody>('GET', `/tenants/${tenantId}/connector-groups/${groupId}/health`)
    ).body;
    return health.connectors.find((c) => c.id === id)?.tunnels.filter((t) => t.state === 'healthy').length ?? 0;
  };

  it('renews under load without a failed request; the old certificate is refused afterwards; a restart uses the new one', async () => {
    const { id, pid } = stack.dev.connectors[0];
    const dir = path.join(stack.dir, 'connector-1');
    const oldState = path.join(stack.dir, 'connector-1-before-renewal');
    await cp(dir, oldState, { recursive: true });
    const before = await connector(id);
    assert.equal(before.previousCertSerial, null);

    const load = startLoad({
      agent: stack.agent,
      baseUrl: url(stack, 'sample', ''),
      rate: 100,
      mix: { get: 1, download: 0, post: 0 },
    });
    let renewed: { serial: string; notAfter: string };
    try {
      await new Promise((r) => setTimeout(r, 500));
      const res = await stack.admin<{ serial: string; notAfter: string }>(
        'POST',
        `/tenants/${tenantId}/connectors/${id}/renew-certificate`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      renewed = res.body;
      assert.notEqual(renewed.serial, before.certSerial);
      // The connector moves its tunnels onto the new certificate, after which the old serial is no longer accepted.
      await waitUntil(
        async () => (await connector(id)).previousCertSerial === null && (await healthyTunnels(id)) === 2,
        20_000,
        'tunnels redialled with the new certificate',
      );
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await load.stop();
    }
    const s = summarize(load.samples);
    assert.deepEqual(
      s.failed.map((f) => `${f.kind} ${f.error}`),
      [],
      logsOf(stack.dir),
    );
    assert.ok(s.total > 100, `${s.total} requests`);

    const after = await connector(id);
    assert.equal(after.certSerial, renewed.serial);
    assert.equal(after.certNotAfter, renewed.notAfter);
    const onDisk = new X509Certificate(await readFile(path.join(dir, 'connector.crt'), 'utf8'));
    assert.equal(normalizeSerial(onDisk.serialNumber), renewed.serial, 'the new certificate is in the state directory');
    assert.notEqual(
      await readFile(path.join(dir, 'connector.key'), 'utf8'),
      await readFile(path.join(oldState, 'connector.key'), 'utf8'),
      'with a new key',
    );
    assert.deepEqual(
      (await readdir(dir)).filter((f) => f.endsWith('.next')),
      [],
    );

    // The old certificate: refused, with the reason in the GOAWAY.
    const registration = JSON.parse(await readFile(path.join(oldState, 'connector.json'), 'utf8')) as {
      tunnelHost: string;
    };
    const socket = tls.connect({
      host: '127.0.0.1',
      port: stack.publicPort,
      servername: registration.tunnelHost,
      ALPNProtocols: [TUNNEL_ALPN],
      key: await readFile(path.join(oldState, 'connector.key')),
      cert: await readFile(path.join(oldState, 'connector.crt')),
      ca: await readFile(path.join(oldState, 'tunnel-ca.crt')),
    });
    await once(socket, 'secureConnect');
    const server = http2.createServer();
    const reason = new Promise<string>((resolve) =>
      server.once('session', (session) => {
        session.on('error', () => {});
        session.once('goaway', (_code: number, _last: number, data?: Buffer) => resolve(data?.toString('utf8') ?? ''));
      }),
    );
    server.emit('connection', socket);
    assert.match(await reason, /DB-TUNNEL-CERT-REFUSED certificate was replaced/);
    socket.destroy();

    // A restart loads the renewed state and connects with it.
    process.kill(pid, 'SIGKILL');
    const restarted = await runConnector(dir, path.join(stack.dir, 'logs', 'connector-1-restart.log'));
    started.push(restarted.process);
    await waitUntil(async () => (await healthyTunnels(id)) === 2, 15_000, 'restarted with the renewed certificate');
    const audit = await stack.admin<{ items: { action: string; target: string; detail: Record<string, unknown> }[] }>(
      'GET',
      `/tenants/${tenantId}/audit-log?limit=200`,
    );
    const entry = audit.body.items.find((e) => e.action === 'connector.certificate-renewed' && e.target === id);
    assert.deepEqual(entry?.detail, {
      previousSerial: before.certSerial,
      serial: renewed.serial,
      notAfter: renewed.notAfter,
    });
  });

  it('answers 409 DB-CONNECTOR-NOT-CONNECTED for a connector without a tunnel', async () => {
    const { id } = stack.dev.connectors[1];
    assert.equal((await stack.admin('PATCH', `/tenants/${tenantId}/connectors/${id}`, { enabled: false })).status, 200);
    try {
      await waitUntil(async () => (await healthyTunnels(id)) === 0, 10_000, 'tunnels dropped');
      const res = await stack.admin<{ error: { code: string } }>(
        'POST',
        `/tenants/${tenantId}/connectors/${id}/renew-certificate`,
      );
      assert.equal(res.status, 409, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'DB-CONNECTOR-NOT-CONNECTED');
    } finally {
      await stack.admin('PATCH', `/tenants/${tenantId}/connectors/${id}`, { enabled: true });
    }
  });
  it('renews by itself: an edge restarted with a longer validity renews the connectors whose certificates fall in its window', async () => {
    // The connectors hold 365-day certificates; a window of 380 days puts them all inside it.
    const file = path.join(stack.dir, 'edge.yaml');
    const config = parseYaml(await readFile(file, 'utf8')) as Record<string, Record<string, unknown>>;
    config.listen.port = stack.publicPort;
    config.admin.port = Number(new URL(stack.dev.adminUrl).port);
    config.tunnel = { certValidityDays: 400, certRenewBeforeDays: 380 };
    await writeFile(file, toYaml(config));
    const before = await Promise.all(stack.dev.connectors.map((c) => connector(c.id)));
    process.kill(stack.dev.edgePid, 'SIGTERM');
    await waitUntil(
      () => {
        try {
          process.kill(stack.dev.edgePid, 0);
          return false;
        } catch {
          return true;
        }
      },
      15_000,
      'the old edge exits',
    );
    const edge = await startChild(['edge', '--config', file], path.join(stack.dir, 'logs', 'edge-restarted.log'));
    try {
      for (const [i, c] of stack.dev.connectors.entries()) {
        await waitUntil(
          async () => {
            const now = await connector(c.id);
            return (
              now.certSerial !== before[i].certSerial &&
              now.previousCertSerial === null &&
              (await healthyTunnels(c.id)) === 2
            );
          },
          30_000,
          `connector ${c.id} renewed by the edge and back on two tunnels`,
        );
        const renewed = await connector(c.id);
        const days = (Date.parse(renewed.certNotAfter) - Date.now()) / 86_400_000;
        assert.ok(days > 399 && days <= 400, `the new certificate lasts the new validity (${days.toFixed(1)} days)`);
      }
      const audit = await stack.admin<{ items: { action: string; actor: string; target: string }[] }>(
        'GET',
        `/tenants/${tenantId}/audit-log?limit=500`,
      );
      for (const c of stack.dev.connectors) {
        assert.ok(
          audit.body.items.some(
            (e) => e.action === 'connector.certificate-renewed' && e.actor === 'edge' && e.target === c.id,
          ),
          `${c.id} renewed by the edge`,
        );
      }
      const res = await stack.admin('GET', '/tenants');
      assert.equal(res.status, 200);
    } finally {
      await stopChild(edge.process, 10_000);
    }
  });
});
