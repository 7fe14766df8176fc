import { parseArgs } from 'node:util';
import { startSampleApp } from '../sample-app/server.ts';
import { onShutdown, notifyParent } from './signals.ts';

const HELP = `drawbridge sample-app — the demo's internal app (GET /, ANY /echo, GET /bytes/N, GET /ws, GET /slow/S, GET /links)

Usage: drawbridge sample-app [--host 127.0.0.1] [--port 0] [--name "Contoso Intranet"] [--link NAME=URL …]
                             [--assertion-jwks URL --assertion-audience URL [--ca-file FILE] [--resolve-to ADDRESS]]

GET / shows who is signed in only when the edge vouches for them: with --assertion-jwks (the edge's
https://login.<domain>/.well-known/jwks.json) and --assertion-audience (this app's external URL), the app verifies
the ES256 assertion of header SSO (x-drawbridge-assertion, docs/sso.md). Without them, nobody is shown signed in.
  --ca-file FILE        CA of the edge's certificate (the dev CA)
  --resolve-to ADDRESS  dial this address for the JWKS host (dev hosts under *.localhost do not resolve)

GET /links is a page of absolute internal links, to show link translation: to this app (http://<host>:<port>) and
to each app given with --link NAME=URL (its internal URL; repeatable).
`;

export async function runSampleApp(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '0' },
      name: { type: 'string' },
      'assertion-jwks': { type: 'string' },
      'assertion-audience': { type: 'string' },
      'ca-file': { type: 'string' },
      'resolve-to': { type: 'string' },
      link: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const jwksUrl = values['assertion-jwks'];
  const audience = values['assertion-audience'];
  if ((jwksUrl === undefined) !== (audience === undefined)) {
    process.stderr.write('drawbridge sample-app: --assertion-jwks and --assertion-audience go together\n');
    return 2;
  }
  const assertion =
    jwksUrl && audience ? { jwksUrl, audience, caFile: values['ca-file'], resolveTo: values['resolve-to'] } : undefined;
  const links: Record<string, string> = {};
  for (const entry of values.link) {
    const eq = entry.indexOf('=');
    if (eq <= 0 || !/^https?:\/\//.test(entry.slice(eq + 1))) {
      process.stderr.write(`drawbridge sample-app: --link takes NAME=http(s)://host[:port][/base], got ${entry}\n`);
      return 2;
    }
    links[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const app = await startSampleApp({
    host: values.host,
    port: Number(values.port),
    name: values.name,
    assertion,
    links,
  });
  notifyParent({ event: 'ready', port: app.port });
  if (typeof process.send !== 'function') process.stdout.write(`sample app on http://${values.host}:${app.port}/\n`);
  onShutdown(() => app.close());
  await new Promise(() => {});
  return 0;
}
