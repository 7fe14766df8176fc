#!/usr/bin/env node
// The package's `drawbridge` command. The CLI is TypeScript run by Node's own type stripping (no build step), which
// needs Node.js 22.18 or later; inside the project, npm puts the pinned Node 24 first on PATH (npm start, npx).
// package.json's `engines` therefore names the Node that runs npm (>=20), not this one: npx installs the project into
// its cache to run this bin and checks `engines` against the machine's Node, which warned (EBADENGINE) on Node 20.
// A direct run on an older Node is caught here instead.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `drawbridge: needs Node.js 22.18 or later (this is ${process.version}); run it through npm ` +
      '(npm start, npx drawbridge …) to use the Node 24 the project pins\n',
  );
  process.exit(1);
}
const { main, reportFatal } = await import('../src/cli/main.ts');
main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== 0) process.exitCode = code;
  },
  (err) => {
    process.exitCode = reportFatal(err);
  },
);
