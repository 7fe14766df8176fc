import { parseArgs } from 'node:util';
import { mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createDevCertificates } from '../pki/dev-certs.ts';
import { register } from '../connector/enroll/register.ts';
import { CONNECTOR_VERSION } from '../connector/connector.ts';
import { AdminClient } from './admin-client.ts';
import type { App, ConnectorGroup, Tenant } from '../store/types.ts';
import { DevSupervisor } from './dev-supervisor.ts';
import type { Child } from './child.ts';
import { startDevEdges, type DevEdges } from './dev-edges.ts';
import { onShutdown } from './signals.ts';
import { openStore } from '../store/open.ts';
import {
  DEMO_LOCATIONS,
  DEMO_POLICIES,
  seedConsoleAdmins,
  seedDemoDirectory,
  seedDemoPolicies,
  type DemoAdmin,
  type DemoUser,
} from '../edge/signin/seed.ts';
import type { AccessPolicy, NamedLocation } from '../store/policy-types.ts';
import { SSHD_MISSING_HINT, startDevSshd, type DevSshd } from './dev-ssh.ts';
import { startDevXrdp, XRDP_MISSING_HINT, type DevXrdp } from './dev-xrdp.ts';

const HELP = `drawbridge dev — the whole product on one machine (what "npm start" runs)

Starts, on 127.0.0.1 only: an edge, a connector group with two enrolled connectors, and two sample internal
apps published through them: "sample" in passthrough and "hr" pre-authenticated (sign-in at login.<domain>)
with four demo users (alice, bob, carol, dave) who each show one outcome of the access checks; with OpenSSH's server
installed, also an SSH server on loopback published as the TCP app "ssh" (reach it with drawbridge access ssh). Makes a local CA and certificates for *.<domain>, writes
<state-dir>/dev.json and prints what to open. Ctrl-C stops everything.

A sample app that exits on its own (kill -9 included) is started again on the same port, with backoff and a log
line; so is a connector that crashes (a connector stopped by a signal stays down: that is how to watch failover).

Usage: drawbridge dev [options]

Options:
  --state-dir DIR    Where state, certificates and logs live (default .state/dev)
  --port N           Public HTTPS port for users and tunnels (default 8443; 0 = any free port)
  --admin-port N     Admin API port (default 8444; 0 = any free port)
  --http-port N|off  Plain-HTTP port that redirects to HTTPS (listen.httpPort; default 8080, or any free port
                     when --port is 0; off: none). A single edge only
  --domain D         Edge domain with two labels or more (default apps.localhost)
  --connectors N     Connectors in the group (default 2)
  --connector-workers N
                     Processes per connector (connector run --workers N; default 1): dev.json lists each
                     connector's worker pids
  --edges N          Edge nodes (default 1: SQLite, nothing else needed). N > 1 runs a cluster: N nodes on
                     PostgreSQL (DRAWBRIDGE_PG_URL, default postgres://postgres@127.0.0.1:5432/postgres; a schema per
                     state dir) and Redis (DRAWBRIDGE_REDIS_URL, default redis://127.0.0.1:6379) behind Debian's
                     haproxy on the public port (PROXY protocol v2 from 127.0.0.2, health checks on /healthz)
  --trusted-proxy A  A load balancer address or CIDR range that sends the PROXY protocol (repeatable;
                     listen.trustedProxies, docs/architecture.md "Behind a load balancer")
  --tracing          Record every request's trace: span lines (traceId, spanId) in the edge's and the
                     connectors' logs (the edge's tracing.enabled; traceparent is continued either way)
  -h, --help         Show this help

dev.json: { edgeUrl, httpUrl, adminUrl, adminToken, caCertPath, apps: [{ name, externalUrl, preAuth }],
            connectors: [{ id, pid, group, metricsUrl, workers: [{ index, pid }] }], sampleApps: [{ name, pid, internalUrl }],
            users: [{ username, password, totpSecret?, note }], edgePid, edges: [{ id, pid, url, config? }], tenant,
            ssh: { externalUrl, internalUrl, host, user, keyPath, tokenFile, command } | null }
          (rewritten when a child restarts; an edge's url reaches that node directly, not through haproxy)
`;

const TENANT = 'contoso';

/** What `connector run` tells dev when it is ready (`workers` from the primary of --workers N). */
type ConnectorReady = { connectorId: string; metricsPort: number; workers?: { index: number; pid: number }[] };
const GROUP = 'default';

export async function runDev(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'state-dir': { type: 'string', default: '.state/dev' },
      port: { type: 'string', default: '8443' },
      'admin-port': { type: 'string', default: '8444' },
      'http-port': { type: 'string' },
      domain: { type: 'string', default: 'apps.localhost' },
      connectors: { type: 'string', default: '2' },
      'connector-workers': { type: 'string', default: '1' },
      edges: { type: 'string', default: '1' },
      'trusted-proxy': { type: 'string', multiple: true, default: [] },
      tracing: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const stateDir = path.resolve(values['state-dir']);
  const domain = values.domain;
  const connectorCount = Number(values.connectors);
  const edgeCount = Number(values.edges);
  const connectorWorkers = Number(values['connector-workers']);
  if (!Number.isInteger(connectorWorkers) || connectorWorkers < 1) {
    process.stderr.write('drawbridge dev: --connector-workers takes a whole number from 1\n');
    return 2;
  }
  if (!Number.isInteger(edgeCount) || edgeCount < 1 || edgeCount > 16) {
    process.stderr.write('drawbridge dev: --edges takes 1 to 16\n');
    return 2;
  }
  // The HTTP redirect port follows --port 0 (tests, several stacks at once) so that it never collides either.
  const httpFlag = values['http-port'] ?? (values.port === '0' ? '0' : '8080');
  const httpPort = httpFlag === 'off' || edgeCount > 1 ? null : Number(httpFlag);
  if (httpPort !== null && (!Number.isInteger(httpPort) || httpPort < 0 || httpPort > 65535)) {
    process.stderr.write('drawbridge dev: --http-port takes a port or off\n');
    return 2;
  }
  const logs = path.join(stateDir, 'logs');
  await mkdir(logs, { recursive: true, mode: 0o700 });
  const step = (msg: string): void => {
    process.stdout.write(`• ${msg}\n`);
  };
  const supervisor = new DevSupervisor(step);
  // Connectors first (they drain), then the apps, then the edge.
  let stopEdges = async (): Promise<void> => {};
  let sshd: DevSshd | null = null;
  let xrdp: DevXrdp | null = null;
  const stopAll = async (): Promise<void> => {
    await supervisor.stopAll('connector');
    await sshd?.stop();
    await xrdp?.stop();
    await stopEdges();
  };
  // Once written, dev.json follows restarts (new pids).
  let writeDevJson: (() => Promise<void>) | null = null;
  const rewriteDevJson = (): void => {
    writeDevJson?.().catch((err: Error) => step(`could not rewrite dev.json: ${err.message}`));
  };
  onShutdown(async () => {
    step('stopping…');
    await stopAll();
  });

  try {
    step(`certificates for *.${domain} (local CA)`);
    const certs = await createDevCertificates(path.join(stateDir, 'certs'), domain);

    const cluster = await startDevEdges({
      count: edgeCount,
      stateDir,
      logs,
      domain,
      port: Number(values.port),
      adminPort: Number(values['admin-port']),
      httpPort,
      certs,
      trustedProxies: values['trusted-proxy'],
      tracing: values.tracing === true,
      supervisor,
      step,
    });
    stopEdges = cluster.stop;
    const { publicPort, adminPort, adminToken } = cluster;
    const portSuffix = publicPort === 443 ? '' : `:${publicPort}`;
    const externalUrlOf = (name: string): string => `https://${name}-${TENANT}.${domain}${portSuffix}`;
    const adminUrl = `http://127.0.0.1:${adminPort}`;
    const admin = new AdminClient({ baseUrl: adminUrl, token: adminToken });
    const items = async <T>(p: string): Promise<T[]> => (await admin.request<{ items: T[] }>('GET', p)).items;

    step('starting the sample internal apps');
    const sampleApps: { name: string; pid: number; internalUrl: string }[] = [];
    /** Starts a sample app; resolves to its internal URL. */
    const startSampleApp = async (name: string, logFile: string, extra: string[]): Promise<string> => {
      const args = (port: number): string[] => ['sample-app', '--port', String(port), ...extra];
      const entry = { name, pid: 0, internalUrl: '' };
      const started = await supervisor.start<{ port: number }>({
        name: `the ${name} sample app`,
        kind: 'sample-app',
        args: args(0),
        logFile: path.join(logs, logFile),
        policy: 'always',
        // Back on the same port: the app's published internal URL stays right.
        restartArgs: (previous) => args(previous.port),
        onRestart: (child) => {
          entry.pid = child.process.pid ?? 0;
          rewriteDevJson();
        },
      });
      entry.pid = started.current.process.pid ?? 0;
      entry.internalUrl = `http://127.0.0.1:${started.current.ready.port}`;
      sampleApps.push(entry);
      return entry.internalUrl;
    };
    // The HR app shows who signed in only from the assertion the edge signs for header SSO, checked against its JWKS.
    const hrInternalUrl = await startSampleApp('hr', 'hr-app.log', [
      '--name',
      'Contoso HR',
      '--assertion-jwks',
      `https://login.${domain}${portSuffix}/.well-known/jwks.json`,
      '--assertion-audience',
      externalUrlOf('hr'),
      '--ca-file',
      certs.caCertPath,
      '--resolve-to',
      '127.0.0.1',
    ]);
    // Its /links page links to itself and to the HR app by their internal URLs: link translation shows them external.
    const internalUrl = await startSampleApp('sample', 'sample-app.log', ['--link', `hr=${hrInternalUrl}`]);

    step(`publishing it for tenant "${TENANT}" on connector group "${GROUP}"`);
    const tenant =
      (await items<Tenant>('/tenants')).find((t) => t.name === TENANT) ??
      (await admin.request<Tenant>('POST', '/tenants', { name: TENANT, displayName: 'Contoso' }));
    const t = `/tenants/${tenant.id}`;
    const group =
      (await items<ConnectorGroup>(`${t}/connector-groups`)).find((g) => g.name === GROUP) ??
      (await admin.request<ConnectorGroup>('POST', `${t}/connector-groups`, { name: GROUP }));
    const publish = async (name: string, url: string, fields: Record<string, unknown>): Promise<App> => {
      const existing = (await items<App>(`${t}/apps`)).find((a) => a.name === name);
      return existing
        ? admin.request<App>('PATCH', `${t}/apps/${existing.id}`, {
            internalUrl: url,
            externalUrl: externalUrlOf(name),
            ...fields,
          })
        : admin.request<App>('POST', `${t}/apps`, {
            name,
            internalUrl: url,
            externalUrl: externalUrlOf(name),
            groupId: group.id,
            ...fields,
          });
    };
    // Link translation in bodies too, for the /links page (header translation is on by default).
    const app = await publish('sample', internalUrl, {
      preAuth: 'passthrough',
      linkTranslation: { headers: true, body: true },
    });
    // The HR app shows who signed in: header-based SSO plus the edge-signed assertion (docs/sso.md).
    const hr = await publish('hr', hrInternalUrl, {
      preAuth: 'idp',
      sso: {
        mode: 'headers',
        headers: { user: 'x-remote-user', email: 'x-remote-email', groups: 'x-remote-groups' },
        jwt: true,
      },
    });

    step('seeding the demo directory (alice, bob, carol, dave) and one console administrator per role');
    const { users, admins } = await seedDirectory(cluster.store, tenant.id, hr.id);
    // After the directory: its service token takes a seat of the demo's basic licence.
    const ssh = await publishSsh();
    const rdp = await publishRdp();
    step('seeding conditional access: named locations Office and Blocked range, two policies');
    // Through the admin API, so the running edge's policy cache hears of them.
    await seedDemoPolicies(
      {
        locations: {
          list: () => items<NamedLocation>(`${t}/locations`),
          create: (_, input) => admin.request<NamedLocation>('POST', `${t}/locations`, input),
        },
        policies: {
          list: () => items<AccessPolicy>(`${t}/policies`),
          create: (_, input) => admin.request<AccessPolicy>('POST', `${t}/policies`, input),
        },
      },
      tenant.id,
      hr.id,
    );

    type Workers = { index: number; pid: number }[];
    const connectors: { id: string; pid: number; group: string; metricsUrl: string; workers: Workers }[] = [];
    for (let i = 1; i <= connectorCount; i++) {
      const dir = path.join(stateDir, `connector-${i}`);
      if (!existsSync(path.join(dir, 'connector.json'))) {
        step(`enrolling connector ${i}`);
        const { token } = await admin.request<{ token: string }>('POST', `${t}/enrollment-tokens`, {
          groupId: group.id,
          ttlSeconds: 600,
        });
        await register({
          edgeUrl: `https://tunnel.${domain}${portSuffix}`,
          token,
          stateDir: dir,
          caFile: certs.caCertPath,
          name: `dev-connector-${i}`,
          version: CONNECTOR_VERSION,
          connectAddress: `127.0.0.1:${publicPort}`,
          force: true,
        });
      }
      step(`starting connector ${i}`);
      const args = (metricsPort: number): string[] => [
        'connector',
        'run',
        '--state-dir',
        dir,
        '--drain-seconds',
        '10',
        '--metrics-port',
        String(metricsPort),
        '--supervised',
        ...(connectorWorkers > 1 ? ['--workers', String(connectorWorkers)] : []),
      ];
      const entry = { id: '', pid: 0, group: GROUP, metricsUrl: '', workers: [] as Workers };
      // A connector of one process is its own only worker; the primary of several tells each one forked again.
      const followWorkers = (child: Child<ConnectorReady>): void => {
        entry.workers = child.ready.workers ?? [{ index: 1, pid: child.process.pid ?? 0 }];
        child.process.on('message', (m: { event?: string; index?: number; pid?: number }) => {
          if (m?.event !== 'worker') return;
          entry.workers = entry.workers.map((w) => (w.index === m.index ? { index: w.index, pid: m.pid ?? 0 } : w));
          rewriteDevJson();
        });
      };
      const { current } = await supervisor.start<ConnectorReady>({
        name: `connector ${i}`,
        kind: 'connector',
        args: args(0),
        logFile: path.join(logs, `connector-${i}.log`),
        policy: 'on-crash',
        // Same metrics port, so dev.json's metricsUrl stays right.
        restartArgs: (previous) => args(previous.metricsPort),
        onRestart: (restarted) => {
          entry.pid = restarted.process.pid ?? 0;
          followWorkers(restarted);
          rewriteDevJson();
        },
      });
      followWorkers(current);
      Object.assign(entry, {
        id: current.ready.connectorId,
        pid: current.process.pid ?? 0,
        metricsUrl: `http://127.0.0.1:${current.ready.metricsPort}/metrics`,
      });
      connectors.push(entry);
    }

    step('waiting for the tunnels');
    await waitFor(async () => {
      // Every node's tunnels, from the node registry (a node's own connector list shows only the tunnels it holds).
      const nodes = await items<{ tunnels: { connectorId: string; tunnels: number }[] }>('/edges');
      const tunnelsOf = (id: string): number =>
        nodes.reduce((sum, n) => sum + (n.tunnels.find((x) => x.connectorId === id)?.tunnels ?? 0), 0);
      return connectors.every((c) => tunnelsOf(c.id) > 0);
    }, 20_000);

    const devJson = {
      edgeUrl: `https://${domain}${portSuffix}`,
      /** The plain-HTTP port's base (hosts as for HTTPS), or null. */
      httpUrl: cluster.httpPort === null ? null : `http://${domain}:${cluster.httpPort}`,
      adminUrl,
      adminToken,
      /** The admin console (docs/console.md): the bootstrap token signs in, or a directory administrator below. */
      consoleUrl: `https://admin.${domain}${portSuffix}/`,
      /** One console administrator per directory role (docs/admin-roles.md); the app admin administers the HR app. */
      admins,
      caCertPath: certs.caCertPath,
      apps: [app, hr, ...(rdp ? [rdp.app] : [])].map((a) => ({
        name: a.name,
        externalUrl: a.externalUrl,
        preAuth: a.preAuth,
      })),
      connectors,
      sampleApps,
      users,
      edgePid: cluster.edges[0].pid,
      edges: cluster.edges,
      tenant: TENANT,
      ssh,
      rdp: rdp && { externalUrl: rdp.app.externalUrl, internalUrl: rdp.app.internalUrl, host: rdp.host },
    };
    writeDevJson = () =>
      writeFile(path.join(stateDir, 'dev.json'), JSON.stringify(devJson, null, 2) + '\n', { mode: 0o600 });
    await writeDevJson();

    process.stdout.write(`
Drawbridge is running.

  Sample app (passthrough)  ${app.externalUrl}/
  HR app (sign-in required) ${hr.externalUrl}/
${users.map((u) => `      ${u.username.padEnd(6)} ${u.password.padEnd(18)} ${u.note}${u.totpSecret ? ` (TOTP secret ${u.totpSecret})` : ''}`).join('\n')}
  Conditional access        "${DEMO_POLICIES.hrMfa}" (Office = ${DEMO_LOCATIONS.office.cidrs.join(', ')})
                            "${DEMO_POLICIES.blockRange}" (${DEMO_LOCATIONS.blocked.cidrs.join(', ')})
      pick the client address with curl --interface 127.0.0.N: alice from .1 needs her password alone,
      from .100 she registers and passes MFA, from .70 she gets DB-CA-BLOCKED
      drawbridge admin policies what-if --state-dir ${stateDir} --tenant ${TENANT} --user alice --app hr --ip 127.0.0.100
${
  ssh
    ? `  SSH app (TCP)             ${ssh.internalUrl} as ${ssh.user}, with the demo's service token:
      DRAWBRIDGE_TOKEN=$(cat ${ssh.tokenFile}) ${ssh.command}
`
    : `  SSH app                   ${SSHD_MISSING_HINT}
`
}${
  rdp
    ? `  RDP app (RD Gateway)      ${rdp.app.externalUrl}/ → ${rdp.app.internalUrl} (xrdp), for alice:
      sign in at https://login.${domain}${portSuffix}/ and Connect downloads the .rdp file (any RDP client with RD Gateway), or with FreeRDP:
      xfreerdp /v:${rdp.app.internalUrl.slice('rdp://'.length)} /g:${rdp.host}:${publicPort} /gt:http /gat:<gatewayaccesstoken from the .rdp file> /cert:ignore
      (${rdp.host} must resolve to 127.0.0.1: systemd-resolved does, or add it to /etc/hosts)
`
    : `  RDP app                   ${XRDP_MISSING_HINT}
`
}${cluster.httpPort === null ? '' : `  Plain HTTP → HTTPS        http://<any app host>:${cluster.httpPort}/ (308)\n`}  Admin API                 ${adminUrl}/api/v1   (token in ${path.join(stateDir, 'dev.json')})
  Admin console             https://admin.${domain}${portSuffix}/   (the admin token, or one of these administrators)
${admins.map((a) => `      ${a.username.padEnd(6)} ${a.password.padEnd(18)} ${a.role}${a.role === 'app-admin' ? ' (of the HR app)' : ''}`).join('\n')}
  Connectors                ${connectors.map((c) => `${c.id} (pid ${c.pid}${c.workers.length > 1 ? `; workers ${c.workers.map((w) => w.pid).join(' ')}` : ''})`).join(', ')}

Try it:
  curl --cacert ${certs.caCertPath} ${app.externalUrl}/echo
  (your browser must trust ${certs.caCertPath}, or accept the warning)

Logs: ${logs}/   ·   Ctrl-C stops everything.
`);
    await new Promise(() => {});
    return 0;

    /** The demo's SSH app: sshd on loopback, the TCP app `ssh`, a service token licensed and assigned to it. */
    async function publishSsh(): Promise<{
      externalUrl: string;
      internalUrl: string;
      host: string;
      user: string;
      keyPath: string;
      tokenFile: string;
      command: string;
    } | null> {
      sshd = await startDevSshd(stateDir, path.join(logs, 'sshd.log'));
      if (!sshd) {
        step(SSHD_MISSING_HINT);
        return null;
      }
      step(`publishing the SSH server on 127.0.0.1:${sshd.port} as the TCP app "ssh"`);
      const sshApp = await publish('ssh', `tcp://127.0.0.1:${sshd.port}`, { preAuth: 'idp' });
      const existing = (await items<{ id: string; name: string }>(`${t}/service-tokens`)).find(
        (x) => x.name === 'demo-ssh',
      );
      const issued = existing
        ? await admin.request<{ id: string; token: string }>('POST', `${t}/service-tokens/${existing.id}/rotate`)
        : await admin.request<{ id: string; token: string }>('POST', `${t}/service-tokens`, { name: 'demo-ssh' });
      const principal = { type: 'user', id: issued.id };
      // Already there on a restart with the same state directory: a conflict is fine.
      await admin.request('POST', `${t}/licences/basic/assignments`, principal).catch(() => {});
      await admin.request('POST', `${t}/apps/${sshApp.id}/assignments`, principal).catch(() => {});
      const tokenFile = path.join(stateDir, 'ssh', 'token');
      await writeFile(tokenFile, `${issued.token}\n`, { mode: 0o600 });
      const host = new URL(sshApp.externalUrl).hostname;
      const proxy = `npx drawbridge access ssh --app %h --port ${publicPort} --ca ${certs.caCertPath}`;
      const command = `ssh -i ${sshd.keyPath} -o ProxyCommand='${proxy}' ${sshd.user}@${host}`;
      return {
        externalUrl: sshApp.externalUrl,
        internalUrl: sshApp.internalUrl,
        host,
        user: sshd.user,
        keyPath: sshd.keyPath,
        tokenFile,
        command,
      };
    }

    /** The demo's RDP app: xrdp on loopback behind the edge's RD Gateway, assigned as the HR app is (alice). */
    async function publishRdp(): Promise<{ app: App; host: string } | null> {
      xrdp = await startDevXrdp(path.join(stateDir, 'xrdp'), path.join(logs, 'xrdp.log'));
      if (!xrdp) {
        step(XRDP_MISSING_HINT);
        return null;
      }
      step(`publishing xrdp on 127.0.0.1:${xrdp.port} as the RDP app "rdp" (RD Gateway), assigned as the HR app`);
      const rdpApp = await publish('rdp', `rdp://127.0.0.1:${xrdp.port}`, { preAuth: 'idp' });
      const groups = (await items<{ principal: { type: string; id: string } }>(`${t}/apps/${hr.id}/assignments`))
        .map((a) => a.principal)
        .filter((p) => p.type === 'group');
      // Already there on a restart with the same state directory: a conflict is fine.
      for (const g of groups) await admin.request('POST', `${t}/apps/${rdpApp.id}/assignments`, g).catch(() => {});
      return { app: rdpApp, host: new URL(rdpApp.externalUrl).hostname };
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * Seeds the demo users straight into the edge's database (SQLite allows a second writer; the directory is read per
 * sign-in, so the running edge sees them at once). Apps go through the admin API so the edge's routing updates.
 */
async function seedDirectory(
  where: DevEdges['store'],
  tenantId: string,
  appId: string,
): Promise<{ users: DemoUser[]; admins: DemoAdmin[] }> {
  const store = await openStore(where);
  try {
    const { users } = await seedDemoDirectory(store.directory, tenantId, appId);
    return { users, admins: await seedConsoleAdmins(store.directory, tenantId, appId) };
  } finally {
    await store.close();
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
