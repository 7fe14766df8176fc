import { parseArgs } from 'node:util';
import cluster from 'node:cluster';
import os from 'node:os';
import { superviseEdgeWorkers, workersRefusal, ADMIN_TOKEN_ENV } from './edge-workers.ts';
import { workerIndex as ownWorkerIndex } from './workers.ts';
import { loadEdgeConfig, type EdgeConfig } from '../config/edge-config.ts';
import { startEdge, resolveAdminToken } from '../edge/edge.ts';
import { createLogger } from '../lib/log.ts';
import { onShutdown, notifyParent } from './signals.ts';
import { edgeExtensions } from './edge-extensions.ts';

/** Default of `edge --drain-seconds` (docs/architecture.md quotes it). */
export const EDGE_DRAIN_SECONDS = 30;

const HELP = `drawbridge edge — run the edge

Usage: drawbridge edge --config <edge.yaml> [options]

Options:
  -c, --config FILE     YAML configuration (see docs/configuration.md): stateDir, domain, listen, tls,
                        admin, tunnel, limits
      --port N          Override listen.port (0 = any free port)
      --admin-port N    Override admin.port (0 = any free port)
      --drain-seconds S On SIGTERM, let in-flight requests finish for up to S seconds (default ${EDGE_DRAIN_SECONDS})
      --workers N       Edge nodes in this machine's processes, sharing the public and admin ports (default: the
                        number of cores when store is postgres and sessions redis, else 1). Each worker is a node
                        of its own: own tunnels, own entry in the node registry, reached directly on its own port
      --worker-port P   Direct port of worker 1 (worker i takes P + i - 1; default any free port)
  -h, --help            Show this help

Users and connectors share the one public port: connectors are told apart by TLS ALPN and must present
the client certificate issued at enrollment. The admin API listens on its own address (admin.host/port).
`;

export async function runEdge(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      port: { type: 'string' },
      'admin-port': { type: 'string' },
      'drain-seconds': { type: 'string', default: String(EDGE_DRAIN_SECONDS) },
      help: { type: 'boolean', short: 'h' },
      workers: { type: 'string' },
      'worker-port': { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!values.config) {
    process.stderr.write(`drawbridge edge: --config is required\n\n${HELP}`);
    return 2;
  }
  const configFile = values.config;
  // The file, with this command line's overrides: read at start and again on SIGHUP.
  const readConfig = async (): Promise<EdgeConfig> => {
    const read = await loadEdgeConfig(configFile);
    if (values.port !== undefined) read.listen.port = Number(values.port);
    if (values['admin-port'] !== undefined) read.admin.port = Number(values['admin-port']);
    return read;
  };
  const config = await readConfig();
  const logger = createLogger('edge', config.log.level);
  const workerIndex = ownWorkerIndex();
  if (cluster.isPrimary) {
    const refusal = workersRefusal(config);
    const workers = values.workers !== undefined ? Number(values.workers) : refusal ? 1 : os.availableParallelism();
    if (!Number.isInteger(workers) || workers < 1) {
      process.stderr.write('drawbridge edge: --workers takes a whole number from 1\n');
      return 2;
    }
    if (workers > 1) {
      if (refusal) {
        process.stderr.write(`drawbridge edge: --workers ${workers}: ${refusal} (docs/configuration.md)\n`);
        return 2;
      }
      // One admin token for all: resolved (or created) here once, not raced by the workers.
      process.env[ADMIN_TOKEN_ENV] = await resolveAdminToken(config);
      const supervised = superviseEdgeWorkers(workers, logger);
      // Each worker re-reads the file itself.
      process.on('SIGHUP', () => {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
      });
      onShutdown(async (signal) => {
        logger.info({ signal }, 'edge workers draining');
        await supervised.stop();
      });
      const ready = await supervised.ready;
      notifyParent({ event: 'ready', ...ready });
      await new Promise(() => {});
      return 0;
    }
  }
  if (workerIndex > 0) {
    config.admin.token = process.env[ADMIN_TOKEN_ENV];
    // One of several workers: a node of its own, named after the configured id (or the host) and its index.
    config.cluster = {
      ...config.cluster,
      nodeId: config.cluster?.nodeId ? `${config.cluster.nodeId}-w${workerIndex}` : undefined,
    };
  }
  const directPort =
    workerIndex > 0
      ? values['worker-port'] !== undefined
        ? Number(values['worker-port']) + workerIndex - 1
        : 0
      : undefined;
  const edge = await startEdge(config, logger, edgeExtensions, { directPort });
  notifyParent({
    event: 'ready',
    publicPort: edge.publicPort,
    httpPort: edge.httpPort,
    adminPort: edge.adminPort,
    adminToken: edge.adminToken,
    directPort: edge.directPort,
    nodeId: edge.nodeId,
  });
  onShutdown(async (signal) => {
    logger.info({ signal }, 'edge draining');
    await edge.close(Number(values['drain-seconds']) * 1000);
  });
  // SIGHUP: re-read the configuration file and apply what can change without dropping a connection.
  let reloading = Promise.resolve();
  process.on('SIGHUP', () => {
    reloading = reloading
      .then(async () => {
        logger.info({ config: configFile }, 'SIGHUP: reloading the configuration');
        const next = await readConfig();
        if (workerIndex > 0)
          Object.assign(next, { admin: { ...next.admin, token: config.admin.token }, cluster: config.cluster });
        await edge.reload(next);
      })
      .catch((err: Error) =>
        logger.error(
          { err: err.message, config: configFile },
          'configuration reload failed: the running configuration is kept',
        ),
      );
  });
  await new Promise(() => {});
  return 0;
}
