/**
 * Builds the connector as one file to copy to a host without Node.js: a Node single executable application
 * (https://nodejs.org/api/single-executable-applications.html). esbuild bundles the connector's TypeScript and its
 * dependencies into one CommonJS script (SEA runs CommonJS only), Node writes the preparation blob, and postject
 * injects it into a copy of the pinned Node binary. Usage: node scripts/build-connector.ts [--out FILE]
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { inject } from 'postject';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
// The fuse Node's SEA support looks for (documented in Node's single-executable-applications page).
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export async function buildConnector(out: string, progress: (line: string) => void = () => {}): Promise<string> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-sea-'));
  try {
    const script = path.join(work, 'connector.cjs');
    progress('bundling the connector (esbuild)');
    await build({
      entryPoints: [path.join(ROOT, 'src/connector/single-file/entry.ts')],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node24',
      logLevel: 'error',
      // CommonJS has no import.meta: modules that resolve files next to themselves (edge-only code the CLI also
      // imports) get the executable's own URL, which is never read on the connector's paths.
      define: { 'import.meta.url': '__seaUrl', 'import.meta.main': 'false' },
      banner: { js: "const __seaUrl = require('node:url').pathToFileURL(__filename).href;" },
    });
    const blob = path.join(work, 'sea.blob');
    const config = path.join(work, 'sea.json');
    await writeFile(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true }));
    progress('writing the SEA blob');
    execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: 'pipe' });
    await mkdir(path.dirname(out), { recursive: true });
    await rm(out, { force: true });
    await copyFile(process.execPath, out);
    progress(`injecting it into a copy of Node ${process.version}`);
    await inject(out, 'NODE_SEA_BLOB', await readFile(blob), { sentinelFuse: SEA_FUSE });
    return out;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { out: { type: 'string', default: path.join(ROOT, 'dist/drawbridge-connector') } },
  });
  const out = path.resolve(values.out!);
  await buildConnector(out, (line) => process.stderr.write(`build-connector: ${line}\n`));
  process.stdout.write(`${out} (${((await stat(out)).size / 2 ** 20).toFixed(0)} MiB)\n`);
}
