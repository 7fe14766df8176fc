/**
 * The project's lint: rules that keep the architecture readable, checked on every `npm test`.
 *   - the connector never imports the edge, the edge never imports the connector (both import tunnel/);
 *   - tunnel/ imports neither; kerberos/ imports nothing of ours outside kerberos/;
 *   - relative imports name the .ts file (Node's type stripping resolves nothing else);
 *   - no console.* in src/ outside the CLI and the sample app (use the logger);
 *   - the edge reads a client's address through edge/listen/client-address.ts only (a trusted load balancer's PROXY
 *     header may name another than the socket's peer), never from `.remoteAddress` elsewhere;
 *   - no TypeScript syntax that type stripping cannot erase (enums, namespaces, parameter properties) — tsc checks
 *     that too, through erasableSyntaxOnly; this rule gives the clearer message.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const problems: string[] = [];

async function* files(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(full);
    else if (entry.name.endsWith('.ts')) yield full;
  }
}

const rel = (p: string): string => path.relative(ROOT, p);
/** Where the edge may read a socket's peer itself: the PROXY header's trust check and connection identities. */
const PEER_READERS = new Set([
  'src/edge/listen/client-address.ts',
  'src/edge/listen/public-port.ts',
  'src/edge/listen/client-limits.ts',
]);
const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function forbidden(from: string, to: string): string | null {
  const f = rel(from);
  const t = rel(to);
  if (f.endsWith('.test.ts')) return null; // tests may exercise both sides of a boundary
  if (f.startsWith('src/connector/') && t.startsWith('src/edge/'))
    return 'the connector must not import the edge (share through src/tunnel/)';
  if (f.startsWith('src/edge/') && t.startsWith('src/connector/'))
    return 'the edge must not import the connector (share through src/tunnel/)';
  if (f.startsWith('src/tunnel/') && (t.startsWith('src/edge/') || t.startsWith('src/connector/')))
    return 'src/tunnel/ is the shared contract and imports neither side';
  if (f.startsWith('src/kerberos/') && !t.startsWith('src/kerberos/'))
    return 'src/kerberos/ is a standalone library and imports nothing of ours';
  return null;
}

for (const top of ['src', 'test', 'scripts', 'bench']) {
  let iter: AsyncGenerator<string>;
  try {
    iter = files(path.join(ROOT, top));
  } catch {
    continue;
  }
  try {
    for await (const file of iter) {
      const text = await readFile(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2];
        if (!spec.startsWith('.')) continue;
        if (!/\.(ts|js|json|mjs)$/.test(spec)) problems.push(`${rel(file)}: import "${spec}" must name the .ts file`);
        const reason = forbidden(file, path.resolve(path.dirname(file), spec));
        if (reason) problems.push(`${rel(file)}: import "${spec}": ${reason}`);
      }
      if (
        top === 'src' &&
        !rel(file).startsWith('src/cli/') &&
        !rel(file).startsWith('src/sample-app/') &&
        /\bconsole\.(log|error|warn|info)\(/.test(text)
      ) {
        problems.push(`${rel(file)}: use the logger, not console.*`);
      }
      if (
        rel(file).startsWith('src/edge/') &&
        !file.endsWith('.test.ts') &&
        !PEER_READERS.has(rel(file)) &&
        /\.remoteAddress\b/.test(text)
      ) {
        problems.push(
          `${rel(file)}: read the client address with clientAddress() from src/edge/listen/client-address.ts, not .remoteAddress`,
        );
      }
      if (/^\s*(export\s+)?(const\s+)?enum\s/m.test(text) || /^\s*(export\s+)?namespace\s/m.test(text)) {
        problems.push(`${rel(file)}: enums and namespaces cannot be type-stripped; use "as const" objects and modules`);
      }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

if (problems.length > 0) {
  process.stderr.write(`lint: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('lint: ok\n');
