// The library is standalone: it imports only node: built-ins, asn1js, and its own files.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as lib from './index.ts';

const root = dirname(fileURLToPath(import.meta.url));

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await files(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('library boundary', () => {
  it('imports nothing of the project outside src/kerberos', async () => {
    for (const file of await files(root)) {
      const src = await readFile(file, 'utf8');
      for (const m of src.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
        const spec = m[1];
        if (spec.startsWith('node:') || spec === 'asn1js') continue;
        assert.ok(spec.startsWith('.'), `${relative(root, file)} imports package ${spec}`);
        assert.ok(spec.endsWith('.ts'), `${relative(root, file)}: relative import ${spec} must end in .ts`);
        const target = resolve(dirname(file), spec);
        assert.ok(!relative(root, target).startsWith('..'), `${relative(root, file)} reaches outside: ${spec}`);
      }
      assert.ok(
        !/console\.(log|info|warn|error|debug)/.test(src) || file.endsWith('.test.ts'),
        `${relative(root, file)} logs`,
      );
    }
  });

  it('exposes the client and the error codes', () => {
    assert.equal(typeof lib.KerberosClient, 'function');
    assert.equal(lib.KrbErrorCodes.KDC_ERR_BADOPTION, 13);
    assert.equal(lib.KrbErrorCodes.KRB_ERR_RESPONSE_TOO_BIG, 52);
    assert.equal(lib.krbErrorName(25), 'KDC_ERR_PREAUTH_REQUIRED');
  });
});
