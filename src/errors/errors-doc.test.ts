import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { renderErrorsDoc } from './errors-doc.ts';
import { catalogue } from './catalogue.ts';

test('docs/errors.md documents every code of the catalogue (regenerate: node scripts/errors-doc.ts)', async () => {
  const doc = await readFile(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(doc, renderErrorsDoc());
  for (const code of Object.keys(catalogue)) assert.ok(doc.includes(`### ${code}\n`), code);
});

test('every code is DB-<AREA>-<WHAT>, with a status, title and both explanations', () => {
  for (const [code, spec] of Object.entries(catalogue)) {
    assert.match(code, /^DB-[A-Z0-9]+(-[A-Z0-9]+)*$/, code);
    assert.ok(spec.status >= 400 && spec.status < 600, code);
    assert.ok(spec.title.length > 5 && spec.user.length > 10 && spec.admin.length > 10, code);
  }
});
