/**
 * The entry point of the connector as one file to copy (a Node single executable application, built by
 * `npm run build:connector`): `drawbridge-connector connector run …` (the same words as `drawbridge connector run`,
 * so `connector install` writes one ExecStart for both), or without the leading `connector`.
 */
import { runConnectorCommand } from '../../cli/connector.ts';
import { reportFatal } from '../../cli/main.ts';
import { CONNECTOR_VERSION } from '../connector.ts';

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

run(process.argv.slice(2)).then(
  (code) => {
    if (code) process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportFatal(err);
  },
);
