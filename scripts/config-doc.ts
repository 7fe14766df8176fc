/** Writes docs/configuration.md from the edge configuration schema (src/config/config-doc.test.ts checks it). */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderConfigDoc } from '../src/config/config-doc.ts';

const target = path.resolve(import.meta.dirname, '..', 'docs', 'configuration.md');
await writeFile(target, renderConfigDoc());
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
