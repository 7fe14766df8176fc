import { parseArgs } from 'node:util';
import { startSampleApp } from '../sample-app/server.ts';
import { onShutdown, notifyParent } from './signals.ts';

const HELP = `drawbridge sample-app — the demo's internal app (GET /, ANY /echo, GET /bytes/N, GET /ws, GET /slow/S)

Usage: drawbridge sample-app [--host 127.0.0.1] [--port 0] [--name "Contoso Intranet"]
`;

export async function runSampleApp(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' }, name: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) { process.stdout.write(HELP); return 0; }
  const app = await startSampleApp({ host: values.host, port: Number(values.port), name: values.name });
  notifyParent({ event: 'ready', port: app.port });
  if (typeof process.send !== 'function') process.stdout.write(`sample app on http://${values.host}:${app.port}/\n`);
  onShutdown(() => app.close());
  await new Promise(() => {});
  return 0;
}
