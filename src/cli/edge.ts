import { parseArgs } from 'node:util';
import { loadEdgeConfig } from '../config/edge-config.ts';
import { startEdge } from '../edge/edge.ts';
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
  -h, --help            Show this help

Users and connectors share the one public port: connectors are told apart by TLS ALPN and must present
the client certificate issued at enrollment. The admin API listens on its own address (admin.host/port).
`;

export async function runEdge(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: {
    config: { type: 'string', short: 'c' }, port: { type: 'string' }, 'admin-port': { type: 'string' },
    'drain-seconds': { type: 'string', default: String(EDGE_DRAIN_SECONDS) }, help: { type: 'boolean', short: 'h' },
  } });
  if (values.help) { process.stdout.write(HELP); return 0; }
  if (!values.config) { process.stderr.write(`drawbridge edge: --config is required\n\n${HELP}`); return 2; }
  const config = await loadEdgeConfig(values.config);
  if (values.port !== undefined) config.listen.port = Number(values.port);
  if (values['admin-port'] !== undefined) config.admin.port = Number(values['admin-port']);
  const logger = createLogger('edge', config.log.level);
  const edge = await startEdge(config, logger, edgeExtensions);
  notifyParent({ event: 'ready', publicPort: edge.publicPort, adminPort: edge.adminPort, adminToken: edge.adminToken });
  onShutdown(async (signal) => {
    logger.info({ signal }, 'edge draining');
    await edge.close(Number(values['drain-seconds']) * 1000);
  });
  await new Promise(() => {});
  return 0;
}
