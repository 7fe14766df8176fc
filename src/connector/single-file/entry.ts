/**
 * The entry point of the connector as one file to copy (a Node single executable application, built by
 * `npm run build:connector`): `drawbridge-connector connector run …` (the same words as `drawbridge connector run`,
 * so `connector install` writes one ExecStart for both), or without the leading `connector`.
 */
import { runConnectorCommand } from '../../cli/connector.ts';
import { reportFatal } from '../../cli/main.ts';
import { CONNECTOR_VERSION } from '../connector.ts';
import cluster from 'node:cluster';

const HELP = `drawbridge-connector ${CONNECTOR_VERSION} — the Drawbridge connector as one file (no Node.js to install)

Usage: drawbridge-connector connector <register|run|install|diagnose> [options]
Run "drawbridge-connector connector --help" for the options.
`;

async function run(argv: string[]): Promise<number> {
  const args = argv[0] === 'connector' ? argv.slice(1) : argv;
  if (args[0] === '--version' || args[0] === '-v') {
    process.stdout.write(`${CONNECTOR_VERSION}\n`);
    return 0;
  }
  if (args.length === 0) {
    process.stdout.write(HELP);
    return 1;
  }
  return runConnectorCommand(args);
}

/**
 * The command's words. A worker of `connector run --workers N` is this same executable, forked by node:cluster with
 * the primary's script path before its arguments — for a single executable, the executable again, after the one
 * Node itself puts in argv[1]: dropped, so the worker parses what the primary did.
 */
function commandWords(): string[] {
  const argv = process.argv.slice(2);
  return cluster.isWorker && argv[0] === process.execPath ? argv.slice(1) : argv;
}

run(commandWords()).then(
  (code) => {
    if (code) process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportFatal(err);
  },
);
