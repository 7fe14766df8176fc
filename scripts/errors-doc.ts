/**
 * Writes docs/errors.md from the catalogue (`node scripts/errors-doc.ts`); src/errors/errors-doc.test.ts fails when
 * the file is out of step, so every code is documented.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderErrorsDoc } from '../src/errors/errors-doc.ts';

const target = path.resolve(import.meta.dirname, '..', 'docs', 'errors.md');
await writeFile(target, renderErrorsDoc());
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
