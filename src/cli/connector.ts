import { parseArgs } from 'node:util';
import { register } from '../connector/enroll/register.ts';
import { startConnector, CONNECTOR_VERSION } from '../connector/connector.ts';
import { createLogger } from '../lib/log.ts';
import { onShutdown, notifyParent } from './signals.ts';
import { runDiagnoseCommand } from './diagnose.ts';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isSea } from 'node:sea';
import { loadConnectorState } from '../connector/enroll/state.ts';
import { renderConnectorUnit, selfCommand } from '../connector/install/systemd-unit.ts';
import { CONNECTOR_RESTART_EXIT_CODE } from '../tunnel/protocol.ts';
import cluster from 'node:cluster';
import { runConnectorPrimary } from './connector-workers.ts';
import { workerIndex } from './workers.ts';
import { RenewalThroughPrimary, listenToPrimary, requestRestart } from '../connector/worker-link.ts';

/** Defaults of `connector run` (docs/architecture.md quotes them). */
export const DEFAULT_TUNNELS = 2;
export const DEFAULT_DRAIN_SECONDS = 30;
export const DEFAULT_CONNECTOR_WORKERS = 1;

const HELP = `drawbridge connector — the on-premises side: dials out to the edge, forwards to internal apps

Usage:
  drawbridge connector register --edge URL --token TOKEN --state-dir DIR [options]
  drawbridge connector run --state-dir DIR [options]
  drawbridge connector install --state-dir DIR [options]
  drawbridge connector diagnose kcd --app APP --user USER [options]   (see: diagnose --help)

register: trade a one-time enrollment token for a client certificate. The key is made here and never
leaves this host; files are written 0600 into the state dir.
  --edge URL            The edge's tunnel URL, e.g. https://tunnel.apps.example.com
  --token TOKEN         Enrollment token from "drawbridge admin tokens create" (one-time, expiring)
  --state-dir DIR       Where the key, certificate and registration are kept
  --ca-file FILE        PEM CA that signed the edge's HTTPS certificate (default: system roots)
  --connect-address A   Dial this host:port or IP instead of resolving the edge host (SNI unchanged)
  --name NAME           Display name on the edge (default: this host's name)
  --force               Replace an existing registration in the state dir

run: keep tunnels to the edge and serve the apps published on this connector's group.
  --state-dir DIR       The registered state dir
  --tunnels N           Tunnels to keep open, per worker (default ${DEFAULT_TUNNELS}; at least 1)
  --workers N           Connector processes on this machine, to use more than one core (default ${DEFAULT_CONNECTOR_WORKERS}).
                        Each keeps its own --tunnels tunnels, so the edge spreads requests over them all. A
                        primary supervises them (one that dies is forked again), renews the certificate once
                        for all, and serves --metrics-port with a worker="i" label on each worker's series
                        (docs/operations.md)
  --pinned              Dial only the edge address registered, never the edge nodes it announces (a network
                        that reaches one node or a load balancer only; every node relays to the others)
  --drain-seconds S     On SIGTERM (or SIGINT, SIGHUP), finish in-flight requests for up to S seconds, then exit 0
                        (default ${DEFAULT_DRAIN_SECONDS}); with --workers, every worker drains
  --metrics-port N      Serve Prometheus metrics on 127.0.0.1:N/metrics (0 = any free port)
  --supervised          A service manager starts this connector again when it exits with code ${CONNECTOR_RESTART_EXIT_CODE}: accept an
                        administrator's rolling restart (admin connectors upgrade; with --workers, all of them
                        drain before the exit). Implied under systemd
  --otlp-endpoint URL   Export the spans of traced requests (the edge's tracing: setting decides which) over
                        OTLP/HTTP JSON to URL/v1/traces, e.g. http://127.0.0.1:4318; they are logged either way
  --kerberos-config F   Kerberos constrained delegation for sso: kerberos apps: YAML/JSON with realm, kdcs,
                        principal and keytab (a 0600 file on this host; docs/sso.md)

install: write a systemd service that runs "connector run" for this registered state dir (restart on
failure, SIGTERM drains, sandboxed, writes only to the state dir). Takes run's options (--tunnels,
--workers, --pinned, --drain-seconds, --metrics-port, --kerberos-config, --otlp-endpoint) and:
  --unit-dir DIR        Where the unit goes (default /etc/systemd/system)
  --unit NAME           Unit name (default drawbridge-connector): NAME.service
  --user USER           Run as this system user, who must own the state dir (default: root)
Then: systemctl daemon-reload && systemctl enable --now NAME

  -h, --help            Show this help
`;

export async function runConnectorCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'diagnose') return runDiagnoseCommand(rest);
  const { values } = parseArgs({
    args: rest,
    options: {
      edge: { type: 'string' },
      token: { type: 'string' },
      'state-dir': { type: 'string' },
      'ca-file': { type: 'string' },
      'connect-address': { type: 'string' },
      name: { type: 'string' },
      force: { type: 'boolean' },
      tunnels: { type: 'string', default: String(DEFAULT_TUNNELS) },
      workers: { type: 'string', default: String(DEFAULT_CONNECTOR_WORKERS) },
      'metrics-port': { type: 'string' },
      'drain-seconds': { type: 'string', default: String(DEFAULT_DRAIN_SECONDS) },
      'kerberos-config': { type: 'string' },
      'otlp-endpoint': { type: 'string' },
      supervised: { type: 'boolean' },
      'unit-dir': { type: 'string', default: '/etc/systemd/system' },
      unit: { type: 'string' },
      user: { type: 'string' },
      pinned: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 1 : 0;
  }
  const stateDir = values['state-dir'];
  if (!stateDir) {
    process.stderr.write('drawbridge connector: --state-dir is required\n');
    return 2;
  }

  if (sub === 'register') {
    if (!values.edge || !values.token) {
      process.stderr.write('drawbridge connector register: --edge and --token are required\n');
      return 2;
    }
    const state = await register({
      edgeUrl: values.edge,
      token: values.token,
      stateDir,
      caFile: values['ca-file'],
      name: values.name,
      version: CONNECTOR_VERSION,
      connectAddress: values['connect-address'],
      force: values.force,
      onProgress: (msg) => process.stderr.write(`  ${msg}\n`),
    });
    process.stdout.write(
      `Registered connector ${state.connectorId} (group ${state.groupId}). Start it with:\n  drawbridge connector run --state-dir ${stateDir}\n`,
    );
    return 0;
  }
  if (sub === 'install') {
    const dir = path.resolve(stateDir);
    const state = await loadConnectorState(dir); // refuses a state dir that is not registered
    const name = values.unit ?? 'drawbridge-connector';
    if (!/^[A-Za-z0-9@_.-]+$/.test(name)) {
      process.stderr.write('drawbridge connector install: --unit takes letters, digits, @ _ . -\n');
      return 2;
    }
    const workers = atLeastOne(values.workers, '--workers', 'install');
    if (workers === null) return 2;
    const runArgs = [
      '--tunnels',
      values.tunnels,
      ...(workers !== DEFAULT_CONNECTOR_WORKERS ? ['--workers', String(workers)] : []),
      ...(values.pinned ? ['--pinned'] : []),
      ...(values['metrics-port'] !== undefined ? ['--metrics-port', values['metrics-port']] : []),
      ...(values['kerberos-config'] !== undefined
        ? ['--kerberos-config', path.resolve(values['kerberos-config'])]
        : []),
      ...(values['otlp-endpoint'] !== undefined ? ['--otlp-endpoint', values['otlp-endpoint']] : []),
    ];
    const unit = renderConnectorUnit({
      stateDir: dir,
      command: selfCommand(isSea(), process.execPath, process.argv[1]),
      runArgs,
      user: values.user ?? null,
      drainSeconds: Number(values['drain-seconds']),
    });
    const file = path.join(values['unit-dir'], `${name}.service`);
    await writeFile(file, unit, { mode: 0o644 });
    process.stdout.write(
      `Wrote ${file} (connector ${state.connectorId}). Start it with:\n  systemctl daemon-reload && systemctl enable --now ${name}\n`,
    );
    return 0;
  }
  if (sub === 'run') {
    const tunnels = atLeastOne(values.tunnels, '--tunnels', 'run');
    const workers = atLeastOne(values.workers, '--workers', 'run');
    if (tunnels === null || workers === null) return 2;
    const logger = createLogger('connector');
    const metricsPort = values['metrics-port'] === undefined ? undefined : Number(values['metrics-port']);
    // Only when something starts it again: under systemd (INVOCATION_ID) or --supervised (drawbridge dev).
    const supervised = values.supervised === true || process.env.INVOCATION_ID !== undefined;
    if (cluster.isPrimary && workers > 1) return runConnectorPrimary({ stateDir, workers, metricsPort, logger });
    const worker = workerIndex();
    const renewal = worker > 0 ? new RenewalThroughPrimary() : undefined;
    const drainMs = Number(values['drain-seconds']) * 1000;
    let drained: Promise<void> | null = null;
    const drain = (): Promise<void> => (drained ??= connector.drain(drainMs));
    const connector = await startConnector({
      stateDir,
      tunnels,
      logger,
      // A worker's metrics are served by its primary, on the machine's one port.
      metricsPort: worker > 0 ? undefined : metricsPort,
      kerberosConfig: values['kerberos-config'],
      pinned: values.pinned,
      otlpEndpoint: values['otlp-endpoint'],
      ...(worker > 0 ? { worker, renewal } : {}),
      // A rolling upgrade (admin connectors upgrade): drain like on SIGTERM, then exit for systemd (or dev) to restart;
      // a worker leaves that to its primary, which drains every worker first.
      onRestartRequested: !supervised
        ? undefined
        : worker > 0
          ? requestRestart
          : () => {
              void drain().finally(() => process.exit(CONNECTOR_RESTART_EXIT_CODE));
            },
    }).catch((err: unknown) => {
      // A worker that cannot start exits with the error (its IPC channel would keep it alive): its primary then stops.
      process.channel?.unref();
      throw err;
    });
    if (worker > 0) listenToPrimary(connector);
    notifyParent({ event: 'ready', connectorId: connector.connectorId, metricsPort: connector.metricsPort });
    if (worker > 0) {
      // The primary decides when a worker stops (SIGTERM, or its IPC channel closing). A terminal's Ctrl-C or hang-up
      // reaches the whole process group: the primary turns it into that SIGTERM, so the worker ignores it itself.
      for (const signal of ['SIGINT', 'SIGHUP'] as const) process.on(signal, () => {});
      onShutdown(drain, { signals: ['SIGTERM'], patient: true });
    } else onShutdown(drain, { signals: ['SIGINT', 'SIGTERM', 'SIGHUP'] });
    await new Promise(() => {});
    return 0;
  }
  process.stderr.write(`drawbridge connector: unknown subcommand "${sub}"\n\n${HELP}`);
  return 2;
}

/** A flag's value as a whole number ≥ 1, or null once stderr says why. */
function atLeastOne(raw: string, flag: string, command: string): number | null {
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 1) return n;
  process.stderr.write(`drawbridge connector ${command}: ${flag} must be a whole number ≥ 1\n`);
  return null;
}
