#!/usr/bin/env node
import { DrawbridgeError } from '../errors/drawbridge-error.ts';

const HELP = `drawbridge — publish internal web apps to your users without opening an inbound port

Usage: drawbridge <command> [options]

Commands:
  dev                     Run the whole product on this machine: an edge, two connectors and a sample
                          internal app, all on 127.0.0.1 (this is what "npm start" runs)
  edge                    Run the edge: public HTTPS for users and connector tunnels, admin API
  connector register      Enroll this host as a connector with a one-time token from the administrator
  connector run           Keep tunnels to the edge and forward requests to internal apps
  access tcp|ssh|login    Reach a TCP app (SSH, databases) through the edge: a local listener, or stdin/stdout
                          for ssh's ProxyCommand
  admin …                 Manage tenants, connector groups, tokens, apps and connectors via the admin API
  sample-app              Run the demo's sample internal app on its own

Run "drawbridge <command> --help" for the options of each command.
Documentation: docs/architecture.md, docs/configuration.md, docs/errors.md
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'dev':
      return (await import('./dev.ts')).runDev(rest);
    case 'edge':
      return (await import('./edge.ts')).runEdge(rest);
    case 'connector':
      return (await import('./connector.ts')).runConnectorCommand(rest);
    case 'access':
      return (await import('./access.ts')).runAccess(rest);
    case 'admin':
      return (await import('./admin.ts')).runAdmin(rest);
    case 'sample-app':
      return (await import('./sample-app.ts')).runSampleApp(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? 1 : 0;
    case '--version':
    case '-v':
      process.stdout.write(`${(await import('../connector/connector.ts')).CONNECTOR_VERSION}\n`);
      return 0;
    default:
      process.stderr.write(`drawbridge: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

/** Prints a DrawbridgeError as "code: message" (no stack) and anything else with its stack. */
export function reportFatal(err: unknown): number {
  if (err instanceof DrawbridgeError) {
    process.stderr.write(`drawbridge: ${err.code}: ${err.message}\n`);
    return 1;
  }
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`drawbridge: ${err.message}\n(run with --help for the options)\n`);
    return 2;
  }
  process.stderr.write(`drawbridge: ${err instanceof Error ? err.stack : String(err)}\n`);
  return 1;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code !== undefined && code !== 0) process.exitCode = code;
    },
    (err) => {
      process.exitCode = reportFatal(err);
    },
  );
}
