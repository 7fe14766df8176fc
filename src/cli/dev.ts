import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { createDevCertificates } from '../pki/dev-certs.ts';
import { register } from '../connector/enroll/register.ts';
import { CONNECTOR_VERSION } from '../connector/connector.ts';
import { AdminClient } from './admin-client.ts';
import type { App, ConnectorGroup, Tenant, Connector } from '../store/types.ts';
import { startChild, stopChild, type Child } from './child.ts';
import { onShutdown } from './signals.ts';

const HELP = `drawbridge dev — the whole product on one machine (what "npm start" runs)

Starts, on 127.0.0.1 only: an edge, a connector group with two enrolled connectors, and a sample internal
app published through them in passthrough. Makes a local CA and certificates for *.<domain>, writes
<state-dir>/dev.json and prints what to open. Ctrl-C stops everything.

Usage: drawbridge dev [options]

Options:
  --state-dir DIR    Where state, certificates and logs live (default .state/dev)
  --port N           Public HTTPS port for users and tunnels (default 8443; 0 = any free port)
  --admin-port N     Admin API port (default 8444; 0 = any free port)
  --domain D         Edge domain with two labels or more (default apps.localhost)
  --connectors N     Connectors in the group (default 2)
  -h, --help         Show this help

dev.json: { edgeUrl, adminUrl, adminToken, caCertPath, apps: [{ name, externalUrl, preAuth }],
            connectors: [{ id, pid, group }] }
`;

const TENANT = 'contoso';
const GROUP = 'default';

export async function runDev(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    'state-dir': { type: 'string', default: '.state/dev' }, port: { type: 'string', default: '8443' },
    'admin-port': { type: 'string', default: '8444' }, domain: { type: 'string', default: 'apps.localhost' },
    connectors: { type: 'string', default: '2' }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { process.stdout.write(HELP); return 0; }
  const stateDir = path.resolve(values['state-dir']);
  const domain = values.domain;
  const connectorCount = Number(values.connectors);
  const logs = path.join(stateDir, 'logs');
  await mkdir(logs, { recursive: true, mode: 0o700 });
  const step = (msg: string): void => { process.stdout.write(`• ${msg}\n`); };
  const children: Child<Record<string, unknown>>[] = [];
  const stopAll = async (): Promise<void> => {
    // Connectors first (they drain), then the edge, then the app.
    await Promise.all(children.filter((c) => c.process.spawnargs.includes('connector')).map((c) => stopChild(c.process)));
    for (const c of children.reverse()) await stopChild(c.process);
  };
  onShutdown(async () => { step('stopping…'); await stopAll(); });

  try {
    step(`certificates for *.${domain} (local CA)`);
    const certs = await createDevCertificates(path.join(stateDir, 'certs'), domain);

    const configFile = path.join(stateDir, 'edge.yaml');
    await writeFile(configFile, toYaml({
      stateDir: path.join(stateDir, 'edge'), domain,
      listen: { host: '127.0.0.1', port: Number(values.port) },
      tls: [{ certFile: certs.certPath, keyFile: certs.keyPath }],
      admin: { host: '127.0.0.1', port: Number(values['admin-port']) },
    }));
    step('starting the edge');
    const edge = await startChild<{ publicPort: number; adminPort: number; adminToken: string }>(['edge', '--config', configFile], path.join(logs, 'edge.log'));
    children.push(edge);
    const { publicPort, adminPort, adminToken } = edge.ready;
    const portSuffix = publicPort === 443 ? '' : `:${publicPort}`;
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    const admin = new AdminClient({ baseUrl: adminUrl, token: adminToken });
    const items = async <T>(p: string): Promise<T[]> => (await admin.request<{ items: T[] }>('GET', p)).items;

    step('starting the sample internal app');
    const sample = await startChild<{ port: number }>(['sample-app', '--port', '0'], path.join(logs, 'sample-app.log'));
    children.push(sample);

    step(`publishing it for tenant "${TENANT}" on connector group "${GROUP}"`);
    const tenant = (await items<Tenant>('/tenants')).find((t) => t.name === TENANT) ?? await admin.request<Tenant>('POST', '/tenants', { name: TENANT, displayName: 'Contoso' });
    const t = `/tenants/${tenant.id}`;
    const group = (await items<ConnectorGroup>(`${t}/connector-groups`)).find((g) => g.name === GROUP) ?? await admin.request<ConnectorGroup>('POST', `${t}/connector-groups`, { name: GROUP });
    const internalUrl = `http://127.0.0.1:${sample.ready.port}`;
    const existing = (await items<App>(`${t}/apps`)).find((a) => a.name === 'sample');
    const app = existing
      ? await admin.request<App>('PATCH', `${t}/apps/${existing.id}`, { internalUrl, externalUrl: `https://sample-${TENANT}.${domain}${portSuffix}` })
      : await admin.request<App>('POST', `${t}/apps`, { name: 'sample', internalUrl, groupId: group.id, preAuth: 'passthrough' });

    const connectors: { id: string; pid: number; group: string; metricsUrl: string }[] = [];
    for (let i = 1; i <= connectorCount; i++) {
      const dir = path.join(stateDir, `connector-${i}`);
      if (!existsSync(path.join(dir, 'connector.json'))) {
        step(`enrolling connector ${i}`);
        const { token } = await admin.request<{ token: string }>('POST', `${t}/enrollment-tokens`, { groupId: group.id, ttlSeconds: 600 });
        await register({
          edgeUrl: `https://tunnel.${domain}${portSuffix}`, token, stateDir: dir, caFile: certs.caCertPath,
          name: `dev-connector-${i}`, version: CONNECTOR_VERSION, connectAddress: `127.0.0.1:${publicPort}`, force: true,
        });
      }
      step(`starting connector ${i}`);
      const child = await startChild<{ connectorId: string; metricsPort: number }>(['connector', 'run', '--state-dir', dir, '--drain-seconds', '10', '--metrics-port', '0'], path.join(logs, `connector-${i}.log`));
      children.push(child);
      connectors.push({ id: child.ready.connectorId, pid: child.process.pid ?? 0, group: GROUP, metricsUrl: `http://127.0.0.1:${child.ready.metricsPort}/metrics` });
    }

    step('waiting for the tunnels');
    await waitFor(async () => {
      const live = await items<Connector & { live: { tunnels: number } }>(`${t}/connectors`);
      return connectors.every((c) => (live.find((l) => l.id === c.id)?.live.tunnels ?? 0) > 0);
    }, 20_000);

    const devJson = {
      edgeUrl: `https://${domain}${portSuffix}`,
      adminUrl,
      adminToken,
      caCertPath: certs.caCertPath,
      apps: [{ name: app.name, externalUrl: app.externalUrl, preAuth: app.preAuth }],
      connectors,
      edgePid: edge.process.pid,
      tenant: TENANT,
    };
    await writeFile(path.join(stateDir, 'dev.json'), JSON.stringify(devJson, null, 2) + '\n', { mode: 0o600 });

    process.stdout.write(`
Drawbridge is running.

  Sample app (passthrough)  ${app.externalUrl}/
  Admin API                 ${adminUrl}/api/v1   (token in ${path.join(stateDir, 'dev.json')})
  Connectors                ${connectors.map((c) => `${c.id} (pid ${c.pid})`).join(', ')}

Try it:
  curl --cacert ${certs.caCertPath} ${app.externalUrl}/echo
  (your browser must trust ${certs.caCertPath}, or accept the warning)

Logs: ${logs}/   ·   Ctrl-C stops everything.
`);
    await new Promise(() => {});
    return 0;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s`);
}
